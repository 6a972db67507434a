/* Commands valid in any state (CAPABILITY, NOOP, LOGOUT, ID), STARTTLS,
 * and the small authenticated ones (ENABLE, NAMESPACE, CHECK = NOOP). */
#include <string.h>

#include "imap.h"

#define UNUSED_ARGS (void)cmd, (void)args, (void)n_args, (void)uid

void imap_cmd_capability(struct imap_session *s,
			 const struct imap_command *cmd,
			 const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_buf caps;

	UNUSED_ARGS;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "CAPABILITY takes no arguments");
		return;
	}
	imap_buf_init(&caps, 0);
	imap_capability_list(s, &caps);
	imap_printf(s, "* CAPABILITY %s\r\n", caps.data);
	imap_buf_free(&caps);
	imap_tagged(s, "OK", "Capability completed");
}

void imap_cmd_noop(struct imap_session *s, const struct imap_command *cmd,
		   const struct imap_arg *args, size_t n_args, bool uid)
{
	UNUSED_ARGS;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "%s takes no arguments", cmd->name);
		return;
	}
	s->dirty = true; /* NOOP is how clients poll: always look */
	imap_tagged(s, "OK", "%s completed",
		    strcmp(cmd->name, "CHECK") == 0 ? "Check" : "Noop");
}

void imap_cmd_logout(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	UNUSED_ARGS;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "LOGOUT takes no arguments");
		return;
	}
	imap_printf(s, "* BYE Logging out\r\n");
	s->state = IMAP_LOGOUT;
	imap_printf(s, "%s OK Logout completed\r\n", s->tag);
	imap_command_done(s);
	s->srv->host->proto->conn_close(s->conn, "logout");
}

void imap_cmd_starttls(struct imap_session *s, const struct imap_command *cmd,
		       const struct imap_arg *args, size_t n_args, bool uid)
{
	const struct postino_conn_info *info =
		s->srv->host->proto->conn_info(s->conn);

	UNUSED_ARGS;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "STARTTLS takes no arguments");
		return;
	}
	if (info->tls) {
		imap_tagged(s, "BAD", "TLS is already active");
		return;
	}
	imap_printf(s, "%s OK Begin TLS negotiation now\r\n", s->tag);
	imap_command_done(s);
	s->srv->host->proto->conn_starttls(s->conn);
}

/* RFC 2971: the client's list is read and ignored; ours names us. */
void imap_cmd_id(struct imap_session *s, const struct imap_command *cmd,
		 const struct imap_arg *args, size_t n_args, bool uid)
{
	UNUSED_ARGS;
	if (n_args != 1 || (args[0].type != IMAP_ARG_LIST &&
			    args[0].type != IMAP_ARG_NIL) ||
	    (args[0].type == IMAP_ARG_LIST && args[0].count % 2 != 0) ||
	    (args[0].type == IMAP_ARG_LIST && args[0].count > 60)) {
		imap_tagged(s, "BAD", "ID takes NIL or a list of pairs");
		return;
	}
	imap_printf(s, "* ID (\"name\" \"Postino\")\r\n");
	imap_tagged(s, "OK", "ID completed");
}

/* RFC 5161: CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3; QRESYNC
 * enables CONDSTORE too) can be enabled; other names are accepted and
 * ignored. ENABLED names what this command turned on. */
void imap_cmd_enable(struct imap_session *s, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t n_args, bool uid)
{
	struct imap_buf out;

	UNUSED_ARGS;
	if (n_args == 0) {
		imap_tagged(s, "BAD", "ENABLE needs capability names");
		return;
	}
	for (size_t i = 0; i < n_args; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			imap_tagged(s, "BAD", "ENABLE takes atoms");
			return;
		}
	}
	bool had_condstore = s->condstore, had_qresync = s->qresync;
	bool said_condstore = false, said_qresync = false;
	for (size_t i = 0; i < n_args; i++) {
		if (imap_arg_atom_is(&args[i], "QRESYNC"))
			s->qresync = true;
		if (imap_arg_atom_is(&args[i], "QRESYNC") ||
		    imap_arg_atom_is(&args[i], "CONDSTORE"))
			imap_condstore_enable(s);
	}
	imap_buf_init(&out, 0);
	imap_buf_append_str(&out, "* ENABLED");
	for (size_t i = 0; i < n_args; i++) {
		if (imap_arg_atom_is(&args[i], "QRESYNC") && !had_qresync &&
		    !said_qresync) {
			said_qresync = true;
			imap_buf_append_str(&out, " QRESYNC");
		} else if (imap_arg_atom_is(&args[i], "CONDSTORE") &&
			   !had_condstore && !said_condstore) {
			said_condstore = true;
			imap_buf_append_str(&out, " CONDSTORE");
		}
	}
	imap_buf_append_str(&out, "\r\n");
	if (out.data != NULL)
		imap_write(s, out.data, out.len);
	imap_buf_free(&out);
	imap_tagged(s, "OK", "Enabled");
}

/* RFC 2342: one personal namespace, no prefix, "/" between levels. */
void imap_cmd_namespace(struct imap_session *s, const struct imap_command *cmd,
			const struct imap_arg *args, size_t n_args, bool uid)
{
	UNUSED_ARGS;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "NAMESPACE takes no arguments");
		return;
	}
	imap_printf(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_tagged(s, "OK", "Namespace completed");
}
