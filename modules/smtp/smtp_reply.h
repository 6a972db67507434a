/* Every reply the SMTP server sends, in one place: integration tests and
 * operators' log searches depend on the exact texts. "%s" slots take the
 * host name, an address or an account. Enhanced status codes (RFC 3463)
 * on every reply but the greeting and the EHLO/HELO answer (RFC 2034). */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#define R_GREETING         "220 %s ESMTP Postino"
#define R_OVERLOAD         "421 4.7.0 %s Error: too many connections"
#define R_TIMEOUT          "421 4.4.2 %s Error: timeout exceeded"
#define R_COMMAND_TIMEOUT  "421 4.4.2 %s Error: command line not completed in time"
#define R_TOO_MANY_ERRORS  "421 4.7.0 Too many errors"
#define R_TLS_FAILED       "421 4.7.0 %s Error: TLS unavailable"
#define R_BYE              "221 2.0.0 Bye"
#define R_OK               "250 2.0.0 Ok"
#define R_MAIL_OK          "250 2.1.0 Ok"
#define R_RCPT_OK          "250 2.1.5 Ok"
#define R_QUEUED           "250 2.0.0 Ok: queued as %s"
#define R_HELO             "250 %s"
#define R_VRFY             "252 2.5.2 Cannot VRFY user, but will accept " \
			   "message and attempt delivery"
#define R_HELP             "214 2.0.0 Commands: HELO EHLO STARTTLS AUTH " \
			   "MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
#define R_STARTTLS         "220 2.0.0 Ready to start TLS"
#define R_DATA_GO          "354 End data with <CR><LF>.<CR><LF>"
#define R_AUTH_OK          "235 2.7.0 Authentication successful"
#define R_AUTH_PLAIN_GO    "334 "
#define R_AUTH_LOGIN_USER  "334 VXNlcm5hbWU6"   /* "Username:" */
#define R_AUTH_LOGIN_PASS  "334 UGFzc3dvcmQ6"   /* "Password:" */

#define R_UNKNOWN          "500 5.5.2 Error: command not recognized"
#define R_LINE_TOO_LONG    "500 5.5.2 Line too long"
#define R_NUL_IN_LINE      "500 5.5.2 Error: NUL character in command"
#define R_SYNTAX_HELO      "501 5.5.4 Syntax: %s hostname"
#define R_SYNTAX_NOARGS    "501 5.5.4 Syntax: %s"
#define R_SYNTAX_VRFY      "501 5.5.4 Syntax: VRFY address"
#define R_SYNTAX_AUTH      "501 5.5.4 Syntax: AUTH mechanism [initial-response]"
#define R_SYNTAX_MAIL      "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"
#define R_SYNTAX_RCPT      "501 5.5.4 Syntax: RCPT TO:<address>"
#define R_BAD_SENDER       "501 5.5.4 Error: bad sender address syntax"
#define R_BAD_RECIPIENT    "501 5.5.4 Error: bad recipient address syntax"
#define R_BAD_PARAM        "501 5.5.4 Error: bad value of parameter %s"
#define R_UNKNOWN_PARAM    "555 5.5.4 Error: unsupported parameter %s"
#define R_AUTH_DECODE      "501 5.5.2 Error: cannot decode response"
#define R_AUTH_CANCELLED   "501 5.7.0 Authentication cancelled"
#define R_NEED_HELO        "503 5.5.1 Error: send HELO/EHLO first"
#define R_NEED_EHLO        "503 5.5.1 Error: send EHLO first"
#define R_NESTED_MAIL      "503 5.5.1 Error: nested MAIL command"
#define R_NEED_MAIL        "503 5.5.1 Error: need MAIL command"
#define R_NEED_RCPT        "503 5.5.1 Error: need RCPT command"
#define R_TLS_ACTIVE       "503 5.5.1 Error: TLS already active"
#define R_AUTH_ALREADY     "503 5.5.1 Error: already authenticated"
#define R_AUTH_IN_MAIL     "503 5.5.1 Error: MAIL transaction in progress"
#define R_AUTH_MECH        "504 5.5.4 Unrecognized authentication type"
#define R_AUTH_NEED_TLS    "538 5.7.11 Encryption required for requested " \
			   "authentication mechanism"
#define R_AUTH_FAILED      "535 5.7.8 Error: authentication failed: " \
			   "authentication failure"
#define R_AUTH_TEMPFAIL    "454 4.7.0 Temporary authentication failure"
#define R_AUTH_REQUIRED    "530 5.7.0 Authentication required"
#define R_SIZE_DECLARED    "552 5.3.4 Message size exceeds fixed maximum " \
			   "message size"
#define R_SIZE_EXCEEDED    "552 5.3.4 Error: message too big"
#define R_NOT_OWNER        "553 5.7.1 <%s>: Sender address rejected: not " \
			   "owned by user %s"
#define R_UTF8_REQUIRED    "553 5.6.7 Error: SMTPUTF8 is required for " \
			   "non-ASCII addresses"
#define R_USER_UNKNOWN     "550 5.1.1 <%s>: Recipient address rejected: " \
			   "User unknown in local recipient table"
#define R_NO_POSTMASTER    "550 5.1.1 <%s>: Recipient address rejected: " \
			   "no postmaster address configured ([smtp] " \
			   "postmaster)"
#define R_RELAY_DENIED     "550 5.7.1 <%s>: Relaying denied"
/* RFC 3463 X.2.2; permanent, as Dovecot's LMTP and most providers say
 * it (doc/operator-guide.md, "Quotas"). */
#define R_MAILBOX_FULL     "552 5.2.2 <%s>: Mailbox full"
#define R_ALL_FULL         "552 5.2.2 Mailbox full"
#define R_TOO_MANY_RCPTS   "452 4.5.3 Error: too many recipients"
#define R_NO_RCPTS         "554 5.5.1 Error: no valid recipients"
#define R_BARE_LF          "550 5.5.2 Error: bare <LF> or <CR> received; " \
			   "lines must end with CRLF"
/* RFC 3463 X.6.0: the content, not the protocol, is at fault. */
#define R_NUL_IN_DATA      "554 5.6.0 Error: message contains NUL " \
			   "characters"
#define R_QUEUE_ERROR      "451 4.3.0 Error: queue file write error"
#define R_INTERNAL         "451 4.3.0 Error: internal error"
#define R_HOOK_DEFER       "451 4.3.0 Error: try again later"
#define R_HOOK_REJECT      "554 5.7.1 Error: rejected by policy"

#endif
