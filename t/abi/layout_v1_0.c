/* The layout of ABI 1.0, frozen. Modules built against 1.0 index these
 * structs by these offsets forever; if this file stops compiling, a change
 * to plugins-api/ broke every released module. Append new fields after the
 * last one instead (and add a layout_v1_N.c for the new minor). LP64. */
#include <stddef.h>

#include <postino/plugin.h>

#define AT(type, field, offset) \
	_Static_assert(offsetof(struct type, field) == (offset), \
		       #type "." #field " moved")

_Static_assert(POSTINO_ABI_MAJOR == 1, "major changed: new symbol name");
_Static_assert(POSTINO_ABI_MINOR >= 0, "minor only grows");

AT(postino_module, size, 0);
AT(postino_module, abi_major, 8);
AT(postino_module, abi_minor, 12);
AT(postino_module, name, 16);
AT(postino_module, version, 24);
AT(postino_module, description, 32);
AT(postino_module, config_keys, 40);
AT(postino_module, config_key_size, 48);
AT(postino_module, init, 56);
AT(postino_module, fini, 64);

AT(postino_config_key, name, 0);
AT(postino_config_key, type, 8);
AT(postino_config_key, default_value, 16);
AT(postino_config_key, help, 24);

AT(postino_host, size, 0);
AT(postino_host, abi_major, 8);
AT(postino_host, abi_minor, 12);
AT(postino_host, log, 16);
AT(postino_host, config_string, 24);
AT(postino_host, config_number, 32);
AT(postino_host, hook_register, 40);
AT(postino_host, hook_reply, 48);
AT(postino_host, hook_complete, 56);
AT(postino_host, timer_start, 64);
AT(postino_host, timer_stop, 72);
AT(postino_host, work_submit, 80);
AT(postino_host, admin_register, 88);
AT(postino_host, state_get, 96);
AT(postino_host, state_put, 104);
AT(postino_host, state_delete, 112);
AT(postino_host, now_ms, 120);

AT(postino_host, protocol_register, 128);
AT(postino_host, conn_write, 136);
AT(postino_host, conn_printf, 144);
AT(postino_host, conn_starttls, 152);
AT(postino_host, conn_close, 160);
AT(postino_host, conn_read_bytes, 168);
AT(postino_host, conn_pause, 176);
AT(postino_host, conn_resume, 184);
AT(postino_host, conn_set_data, 192);
AT(postino_host, conn_get_data, 200);
AT(postino_host, conn_info, 208);
AT(postino_host, conn_set_account, 216);
AT(postino_host, auth_verify, 224);
AT(postino_host, hooks_run, 232);
AT(postino_host, domain_is_local, 240);
AT(postino_host, address_expand, 248);
AT(postino_host, address_owned_by, 256);
AT(postino_host, msg_new, 264);
AT(postino_host, msg_append, 272);
AT(postino_host, msg_size, 280);
AT(postino_host, msg_deliver, 288);
AT(postino_host, msg_discard, 296);
AT(postino_host, hostname, 304);
AT(postino_host, conn_read_lines, 312);
AT(postino_host, msg_add_header, 320);
AT(postino_host, mailbox_open, 328);
AT(postino_host, mailbox_count, 336);
AT(postino_host, mailbox_uidvalidity, 344);
AT(postino_host, mailbox_message, 352);
AT(postino_host, mailbox_read, 360);
AT(postino_host, mailbox_expunge, 368);
AT(postino_host, mailbox_close, 376);
/* IMAP mailboxes (appended). */
AT(postino_host, mailbox_list, 384);
AT(postino_host, mailbox_status, 392);
AT(postino_host, mailbox_create, 400);
AT(postino_host, mailbox_delete, 408);
AT(postino_host, mailbox_rename, 416);
AT(postino_host, mailbox_subscribe, 424);
AT(postino_host, mailbox_append, 432);
AT(postino_host, mailbox_store, 440);
AT(postino_host, mailbox_copy, 448);
AT(postino_host, mailbox_watch, 456);
AT(postino_host, mailbox_sync, 464);
AT(postino_host, mailbox_mime, 472);
AT(postino_host, mailbox_section, 480);
/* ---- accounts (appended after the IMAP block) ---- */
AT(postino_host, account_get, 488);
AT(postino_host, account_list, 496);
AT(postino_host, password_hash, 504);
AT(postino_host, password_verify, 512);
AT(postino_host, password_in_history, 520);
AT(postino_host, password_set_hash, 528);
AT(postino_protocol, size, 0);
AT(postino_protocol, name, 8);
AT(postino_protocol, max_line, 16);
AT(postino_protocol, idle_timeout_s, 20);
AT(postino_protocol, overload_reply, 24);
AT(postino_protocol, timeout_reply, 32);
AT(postino_protocol, on_connect, 40);
AT(postino_protocol, on_line, 48);
AT(postino_protocol, on_bytes, 56);
AT(postino_protocol, on_starttls, 64);
AT(postino_protocol, on_writable, 72);
AT(postino_protocol, on_close, 80);
AT(postino_protocol, command_timeout_reply, 88);
AT(postino_conn_info, size, 0);
AT(postino_conn_info, session_id, 8);
AT(postino_conn_info, listener, 16);
AT(postino_conn_info, client_ip, 24);
AT(postino_conn_info, client_port, 32);
AT(postino_conn_info, local_ip, 40);
AT(postino_conn_info, local_port, 48);
AT(postino_conn_info, tls, 52);
AT(postino_conn_info, tls_version, 56);
AT(postino_conn_info, tls_cipher, 64);
AT(postino_conn_info, tls_sni, 72);
AT(postino_conn_info, account, 80);
AT(postino_delivery, size, 0);
AT(postino_delivery, mail_from, 8);
AT(postino_delivery, local, 16);
AT(postino_delivery, local_count, 24);
AT(postino_delivery, remote, 32);
AT(postino_delivery, remote_count, 40);
AT(postino_delivery, state_key, 48);
AT(postino_delivery, state_value, 56);
AT(postino_delivery, state_len, 64);
AT(postino_delivery, state_expires_at, 72);
AT(postino_account, size, 0);
AT(postino_account, address, 8);
AT(postino_account, domain, 328);
AT(postino_account, secondary, 584);
AT(postino_account, lang, 904);
AT(postino_account, disabled, 912);
AT(postino_account, password_changed, 920);
AT(postino_account, created, 928);

AT(postino_hook_event, size, 0);
AT(postino_hook_event, point, 8);
AT(postino_hook_event, session_id, 16);
AT(postino_hook_event, protocol, 24);
AT(postino_hook_event, client_ip, 32);
AT(postino_hook_event, tls, 40);
AT(postino_hook_event, account, 48);
AT(postino_hook_event, helo, 56);
AT(postino_hook_event, mail_from, 64);
AT(postino_hook_event, rcpt_to, 72);
AT(postino_hook_event, password, 80);
AT(postino_hook_event, auth_success, 88);
AT(postino_hook_event, message_size, 96);
AT(postino_hook_event, rcpt_count, 104);
AT(postino_hook_event, msg, 112);

AT(postino_message_info, size, 0);
AT(postino_message_info, uid, 8);
AT(postino_message_info, octets, 16);
AT(postino_message_info, flags, 24);
AT(postino_message_info, internaldate, 32);
AT(postino_message_info, modseq, 40);
AT(postino_message_info, keywords, 48);
AT(postino_mailbox_entry, size, 0);
AT(postino_mailbox_entry, name, 8);
AT(postino_mailbox_entry, special_use, 16);
AT(postino_mailbox_entry, subscribed, 24);
AT(postino_mailbox_status, size, 0);
AT(postino_mailbox_status, messages, 8);
AT(postino_mailbox_status, recent, 12);
AT(postino_mailbox_status, unseen, 16);
AT(postino_mailbox_status, uidnext, 20);
AT(postino_mailbox_status, uidvalidity, 24);
AT(postino_mailbox_status, highestmodseq, 32);
AT(postino_section, size, 0);
AT(postino_section, has_header, 8);
AT(postino_section, header_start, 16);
AT(postino_section, header_end, 24);
AT(postino_section, has_text, 32);
AT(postino_section, text_start, 40);
AT(postino_section, text_end, 48);
AT(postino_section, has_mime, 56);
AT(postino_section, mime_start, 64);
AT(postino_section, mime_end, 72);
AT(postino_section, has_body, 80);
AT(postino_section, body_start, 88);
AT(postino_section, body_end, 96);

_Static_assert(POSTINO_HOOK_SMTP_CONNECT == 1 &&
	       POSTINO_HOOK_PASSWORD_CHANGED == 11, "hook points renumbered");
_Static_assert(POSTINO_CONTINUE == 0 && POSTINO_PENDING == 4,
	       "verdicts renumbered");
_Static_assert(POSTINO_CONFIG_STRING == 1 && POSTINO_CONFIG_SIZE == 5,
	       "config types renumbered");
_Static_assert(POSTINO_AUTH_OK == 0 && POSTINO_AUTH_TEMPFAIL == 3,
	       "auth results renumbered");
_Static_assert(POSTINO_FLAG_SEEN == 1 && POSTINO_FLAG_RECENT == 32 &&
	       POSTINO_MAILBOX_EXCLUSIVE == 1 && POSTINO_MAILBOX_RECENT == 2,
	       "flag bits renumbered");
_Static_assert(POSTINO_STORE_REPLACE == 0 && POSTINO_MIME_ENVELOPE == 1 &&
	       POSTINO_MIME_BODYSTRUCTURE == 3, "IMAP enums renumbered");
_Static_assert(POSTINO_LOG_ERROR == 0 && POSTINO_LOG_DEBUG == 3,
	       "log levels renumbered");

int main(void)
{
	return 0;
}
