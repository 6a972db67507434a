/* The script commands (RFC 5804 2.3-2.10, 2.12), each a call of the
 * sieve service (sieve_service.h). Writes reply once durable; input waits
 * meanwhile. A script's compile error is PUTSCRIPT's or CHECKSCRIPT's
 * NO text: "line 3, column 5: unknown command 'fileinot'". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms.h"

static const char *name_arg(struct ms_session *s, size_t i)
{
	return ms_arg_str(&s->parser, i);
}

/* The NO of a service error. */
static void service_error(struct ms_session *s, int status, const char *text)
{
	const struct sieve_service *sv = s->srv->sieve;
	char why[128];

	switch (status) {
	case -EFBIG:
		snprintf(why, sizeof(why), "Script too large (at most %zu "
			 "octets)", sv->max_script_size(sv->instance));
		ms_reply_error(s, "QUOTA/MAXSIZE", text != NULL ? text : why);
		break;
	case -EDQUOT:
		ms_reply_error(s, "QUOTA/MAXSCRIPTS", "Too many scripts");
		break;
	case -ENOENT:
		ms_reply_error(s, "NONEXISTENT", "There is no script by that "
			       "name");
		break;
	case -EBUSY:
		ms_reply_error(s, "ACTIVE", "The active script cannot be "
			       "deleted");
		break;
	case -EEXIST:
		ms_reply_error(s, "ALREADYEXISTS", "A script by that name "
			       "exists");
		break;
	case -EINVAL:
		ms_reply_error(s, NULL, text != NULL ? text
						   : "Invalid script name");
		break;
	default:
		s->srv->host->core->log(s->srv->mod, POSTINO_LOG_ERROR,
					s->session_id, "sieve service: %s",
					strerror(status < 0 ? -status : EIO));
		ms_reply(s, "NO", "TRYLATER", "Try again later");
		break;
	}
}

/* A write the service finished (durable). */
static void written(void *data, int status)
{
	struct ms_session *s = data;

	if (s->conn != NULL) {
		if (status == 0)
			ms_reply(s, "OK", NULL, "Done");
		else
			service_error(s, status, NULL);
	}
	if (ms_resume(s) == 0)
		ms_parse_reset(&s->parser);
}

static void compiled(void *data, int status, const char *error)
{
	struct ms_session *s = data;

	if (s->conn != NULL) {
		if (status == 0)
			ms_reply(s, "OK", NULL, "Done");
		else
			service_error(s, status, error);
	}
	if (ms_resume(s) == 0)
		ms_parse_reset(&s->parser);
}

/* The service refused at once: input goes on. (ms_wait came first, so a
 * callback running early still finds the session waiting.) */
static void call_failed(struct ms_session *s, int status)
{
	ms_resume(s);
	service_error(s, status, NULL);
}

void ms_cmd_havespace(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	const struct ms_parser *p = &s->parser;

	if (p->args[2].type != MS_NUMBER) {
		ms_reply_error(s, NULL, "HAVESPACE takes a name and a size");
		return;
	}
	int ret = sv->havespace(sv->instance, s->account, name_arg(s, 1),
				p->args[2].number);
	if (ret < 0)
		service_error(s, ret, NULL);
	else
		ms_reply(s, "OK", NULL, "Putscript would succeed");
}

void ms_cmd_putscript(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	const struct ms_parser *p = &s->parser;

	if (p->too_big) {
		service_error(s, -EFBIG, NULL);
		return;
	}
	ms_wait(s);
	int ret = sv->put(sv->instance, s->account, name_arg(s, 1),
			  ms_arg_str(p, 2), p->args[2].len, compiled, s);
	if (ret < 0)
		call_failed(s, ret);
}

void ms_cmd_checkscript(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	const struct ms_parser *p = &s->parser;

	if (p->too_big) {
		service_error(s, -EFBIG, NULL);
		return;
	}
	ms_wait(s);
	int ret = sv->check(sv->instance, ms_arg_str(p, 1), p->args[1].len,
			    compiled, s);
	if (ret < 0)
		call_failed(s, ret);
}

static void list_entry(void *data, const char *name, int active)
{
	struct ms_session *s = data;

	ms_write_string(s, name, strlen(name));
	if (active)
		ms_write(s, " ACTIVE", 7);
	ms_write(s, "\r\n", 2);
}

void ms_cmd_listscripts(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	int ret = sv->list(sv->instance, s->account, list_entry, s);

	if (ret < 0)
		service_error(s, ret, NULL);
	else
		ms_reply(s, "OK", NULL, "Listscripts completed");
}

void ms_cmd_setactive(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	const char *name = name_arg(s, 1);

	/* SETACTIVE "" deactivates (RFC 5804 2.8). */
	ms_wait(s);
	int ret = sv->activate(sv->instance, s->account,
			       name[0] != '\0' ? name : NULL, written, s);
	if (ret < 0)
		call_failed(s, ret);
}

void ms_cmd_getscript(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	char *text;
	size_t len;
	char head[32];

	int ret = sv->get(sv->instance, s->account, name_arg(s, 1), &text,
			  &len);
	if (ret < 0) {
		service_error(s, ret, NULL);
		return;
	}
	int n = snprintf(head, sizeof(head), "{%zu}\r\n", len);
	ms_write(s, head, (size_t)n);
	ms_write(s, text, len);
	ms_write(s, "\r\n", 2);
	free(text);
	ms_reply(s, "OK", NULL, "Getscript completed");
}

void ms_cmd_deletescript(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	ms_wait(s);
	int ret = sv->remove(sv->instance, s->account, name_arg(s, 1), written,
			     s);

	if (ret < 0)
		call_failed(s, ret);
}

void ms_cmd_renamescript(struct ms_session *s)
{
	const struct sieve_service *sv = s->srv->sieve;
	ms_wait(s);
	int ret = sv->rename(sv->instance, s->account, name_arg(s, 1),
			     name_arg(s, 2), written, s);

	if (ret < 0)
		call_failed(s, ret);
}
