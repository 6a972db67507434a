/* IDLE (RFC 2177): changes reach the client as soon as the store commits
 * them (mailbox_watch), and at least every IDLE_POLL_MS for changes made
 * by other processes (the admin CLI), until the client sends DONE. */
#include <strings.h>

#include "imap.h"

#define IDLE_POLL_MS 30000

static void idle_poll(void *data)
{
	struct imap_session *s = data;

	s->dirty = true;
	imap_idle_changed(s);
}

void imap_idle_changed(struct imap_session *s)
{
	if (s->phase == IMAP_PHASE_IDLE && s->state == IMAP_SELECTED)
		imap_sync(s, true);
}

void imap_cmd_idle(struct imap_session *s, const struct imap_command *cmd,
		   const struct imap_arg *args, size_t n_args, bool uid)
{
	const struct postino_host *host = s->srv->host;

	(void)cmd;
	(void)args;
	(void)uid;
	if (n_args != 0) {
		imap_tagged(s, "BAD", "IDLE takes no arguments");
		return;
	}
	imap_printf(s, "+ idling\r\n");
	s->phase = IMAP_PHASE_IDLE;
	imap_idle_changed(s);
	s->idle_timer = host->core->timer_start(s->srv->mod, IDLE_POLL_MS,
					  IDLE_POLL_MS, 0, idle_poll, s);
}

void imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	const struct postino_host *host = s->srv->host;

	if (s->idle_timer != NULL)
		host->core->timer_stop(&s->idle_timer);
	s->phase = IMAP_PHASE_COMMAND;
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_tagged(s, "OK", "Idle completed");
	else
		imap_tagged(s, "BAD", "Expected DONE");
}
