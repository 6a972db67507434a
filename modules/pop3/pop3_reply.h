/* Every reply text of pop3.so (CRLF is added when sent). */
#ifndef POP3_REPLY_H
#define POP3_REPLY_H

#define R_GREETING "+OK Postino POP3 ready"
#define R_OVERLOAD "-ERR [SYS/TEMP] too many connections"
#define R_TIMEOUT "-ERR [SYS/TEMP] idle timeout"
#define R_COMMAND_TIMEOUT "-ERR [SYS/TEMP] command line not completed in time"
#define R_OK "+OK"
#define R_BYE "+OK bye"
#define R_SIGNOFF "+OK Postino POP3 signing off (%zu messages deleted)"
#define R_SIGNOFF_FAILED "-ERR [SYS/TEMP] some deleted messages not removed"

#define R_UNKNOWN "-ERR unknown command"
#define R_TOO_MANY_ERRORS "-ERR too many errors"
#define R_LINE_TOO_LONG "-ERR line too long"
#define R_SYNTAX "-ERR syntax error"
#define R_WRONG_STATE "-ERR command not valid in this state"

#define R_CAPA "+OK Capability list follows"
#define R_STLS "+OK Begin TLS negotiation"
#define R_TLS_ACTIVE "-ERR already in TLS"
#define R_TLS_FAILED "-ERR [SYS/TEMP] TLS not available"

#define R_NEED_TLS "-ERR [AUTH] Plaintext authentication disallowed; use STLS first"
#define R_USER_FIRST "-ERR USER first"
#define R_AUTH_FAILED "-ERR [AUTH] Authentication failed"
#define R_AUTH_TEMPFAIL "-ERR [SYS/TEMP] Temporary failure, try again later"
#define R_IN_USE "-ERR [IN-USE] Maildrop already locked"
#define R_MAILDROP "+OK maildrop has %" PRIu32 " messages (%" PRIu64 " octets)"
#define R_AUTH_MECHS "+OK"
#define R_AUTH_MECH "-ERR Unsupported mechanism"
#define R_AUTH_GO "+ "
#define R_AUTH_CANCELLED "-ERR Authentication cancelled"
#define R_AUTH_DECODE "-ERR [AUTH] Malformed authentication response"

#define R_STAT "+OK %" PRIu32 " %" PRIu64
#define R_LIST_ONE "+OK %" PRIu32 " %" PRIu64
#define R_LIST_ALL "+OK %" PRIu32 " messages (%" PRIu64 " octets)"
#define R_LIST_LINE "%" PRIu32 " %" PRIu64
#define R_UIDL_ONE "+OK %" PRIu32 " %" PRIu32 ".%" PRIu32
#define R_UIDL_ALL "+OK unique-id listing follows"
#define R_UIDL_LINE "%" PRIu32 " %" PRIu32 ".%" PRIu32
#define R_RETR "+OK %" PRIu64 " octets"
#define R_TOP "+OK top of message follows"
#define R_NO_SUCH_MESSAGE "-ERR no such message"
#define R_BAD_LINECOUNT "-ERR invalid line count"
#define R_ALREADY_DELETED "-ERR message %" PRIu32 " already deleted"
#define R_DELETED "+OK message %" PRIu32 " deleted"
#define R_RSET "+OK"
#define R_READ_FAILED "-ERR [SYS/TEMP] cannot read message"
#define R_END "."

#endif
