/* The layout of ABI 1.1, frozen (written by t/abi/freeze-layout).
 * Modules built against 1.1 index these structs by these offsets
 * forever; if this file stops compiling, a change to plugins-api/
 * broke every module built for it. Append fields instead, bump
 * POSTINO_ABI_MINOR and freeze the new minor. LP64. */
#include <stddef.h>

#include <postino/plugin.h>

#define AT(type, field, offset) \
	_Static_assert(offsetof(struct type, field) == (offset), \
		       #type "." #field " moved")
#define SIZE(type, size) \
	_Static_assert(sizeof(struct type) >= (size), \
		       #type " shrank")

_Static_assert(POSTINO_ABI_MAJOR == 1, "major changed: new symbol name");
_Static_assert(POSTINO_ABI_MINOR >= 1, "minor only grows");

int main(void)
{
	return 0;
}

SIZE(postino_config_key, 32);
AT(postino_config_key, name, 0);
AT(postino_config_key, type, 8);
AT(postino_config_key, default_value, 16);
AT(postino_config_key, help, 24);

SIZE(postino_hook_event, 136);
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
AT(postino_hook_event, listener, 120);
AT(postino_hook_event, role, 128);

SIZE(postino_protocol, 96);
AT(postino_protocol, size, 0);
AT(postino_protocol, name, 8);
AT(postino_protocol, max_line, 16);
AT(postino_protocol, idle_timeout_s, 20);
AT(postino_protocol, overload_reply, 24);
AT(postino_protocol, timeout_reply, 32);
AT(postino_protocol, command_timeout_reply, 40);
AT(postino_protocol, on_connect, 48);
AT(postino_protocol, on_line, 56);
AT(postino_protocol, on_bytes, 64);
AT(postino_protocol, on_starttls, 72);
AT(postino_protocol, on_writable, 80);
AT(postino_protocol, on_close, 88);

SIZE(postino_conn_info, 104);
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
AT(postino_conn_info, role, 88);
AT(postino_conn_info, worker, 96);

SIZE(postino_sasl_ops, 24);
AT(postino_sasl_ops, size, 0);
AT(postino_sasl_ops, challenge, 8);
AT(postino_sasl_ops, done, 16);

SIZE(postino_delivery, 96);
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
AT(postino_delivery, local_rcpt, 80);
AT(postino_delivery, remote_via, 88);

SIZE(postino_account, 936);
AT(postino_account, size, 0);
AT(postino_account, address, 8);
AT(postino_account, domain, 328);
AT(postino_account, secondary, 584);
AT(postino_account, lang, 904);
AT(postino_account, disabled, 912);
AT(postino_account, password_changed, 920);
AT(postino_account, created, 928);

SIZE(postino_quota, 40);
AT(postino_quota, size, 0);
AT(postino_quota, storage_used, 8);
AT(postino_quota, storage_limit, 16);
AT(postino_quota, messages_used, 24);
AT(postino_quota, messages_limit, 32);

SIZE(postino_message_info, 56);
AT(postino_message_info, size, 0);
AT(postino_message_info, uid, 8);
AT(postino_message_info, octets, 16);
AT(postino_message_info, flags, 24);
AT(postino_message_info, internaldate, 32);
AT(postino_message_info, modseq, 40);
AT(postino_message_info, keywords, 48);

SIZE(postino_mailbox_entry, 32);
AT(postino_mailbox_entry, size, 0);
AT(postino_mailbox_entry, name, 8);
AT(postino_mailbox_entry, special_use, 16);
AT(postino_mailbox_entry, subscribed, 24);

SIZE(postino_mailbox_status, 56);
AT(postino_mailbox_status, size, 0);
AT(postino_mailbox_status, messages, 8);
AT(postino_mailbox_status, recent, 12);
AT(postino_mailbox_status, unseen, 16);
AT(postino_mailbox_status, uidnext, 20);
AT(postino_mailbox_status, uidvalidity, 24);
AT(postino_mailbox_status, highestmodseq, 32);
AT(postino_mailbox_status, deleted, 40);
AT(postino_mailbox_status, deleted_storage, 48);

SIZE(postino_section, 104);
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

SIZE(postino_listener, 48);
AT(postino_listener, size, 0);
AT(postino_listener, name, 8);
AT(postino_listener, protocol, 16);
AT(postino_listener, role, 24);
AT(postino_listener, address, 32);
AT(postino_listener, port, 40);
AT(postino_listener, tls, 44);

SIZE(postino_host_core, 120);
AT(postino_host_core, size, 0);
AT(postino_host_core, log, 8);
AT(postino_host_core, config_string, 16);
AT(postino_host_core, config_number, 24);
AT(postino_host_core, now_ms, 32);
AT(postino_host_core, hostname, 40);
AT(postino_host_core, timer_start, 48);
AT(postino_host_core, timer_stop, 56);
AT(postino_host_core, work_submit, 64);
AT(postino_host_core, worker_index, 72);
AT(postino_host_core, worker_count, 80);
AT(postino_host_core, service_export, 88);
AT(postino_host_core, service_import, 96);
AT(postino_host_core, listener_list, 104);
AT(postino_host_core, server_name, 112);

SIZE(postino_host_policy, 80);
AT(postino_host_policy, size, 0);
AT(postino_host_policy, hook_register, 8);
AT(postino_host_policy, hook_reply, 16);
AT(postino_host_policy, hook_complete, 24);
AT(postino_host_policy, admin_register, 32);
AT(postino_host_policy, state_get, 40);
AT(postino_host_policy, state_put, 48);
AT(postino_host_policy, state_delete, 56);
AT(postino_host_policy, state_update, 64);
AT(postino_host_policy, state_scan, 72);

SIZE(postino_host_proto, 152);
AT(postino_host_proto, size, 0);
AT(postino_host_proto, protocol_register, 8);
AT(postino_host_proto, conn_write, 16);
AT(postino_host_proto, conn_printf, 24);
AT(postino_host_proto, conn_starttls, 32);
AT(postino_host_proto, conn_close, 40);
AT(postino_host_proto, conn_read_bytes, 48);
AT(postino_host_proto, conn_read_lines, 56);
AT(postino_host_proto, conn_pause, 64);
AT(postino_host_proto, conn_resume, 72);
AT(postino_host_proto, conn_set_data, 80);
AT(postino_host_proto, conn_get_data, 88);
AT(postino_host_proto, conn_info, 96);
AT(postino_host_proto, conn_set_account, 104);
AT(postino_host_proto, hooks_run, 112);
AT(postino_host_proto, sasl_mechanisms, 120);
AT(postino_host_proto, sasl_start, 128);
AT(postino_host_proto, sasl_input, 136);
AT(postino_host_proto, auth_verify, 144);

SIZE(postino_host_mail, 136);
AT(postino_host_mail, size, 0);
AT(postino_host_mail, domain_is_local, 8);
AT(postino_host_mail, address_expand, 16);
AT(postino_host_mail, address_owned_by, 24);
AT(postino_host_mail, msg_new, 32);
AT(postino_host_mail, msg_append, 40);
AT(postino_host_mail, msg_size, 48);
AT(postino_host_mail, msg_add_header, 56);
AT(postino_host_mail, msg_deliver, 64);
AT(postino_host_mail, msg_discard, 72);
AT(postino_host_mail, msg_read, 80);
AT(postino_host_mail, delivery_fileinto, 88);
AT(postino_host_mail, delivery_redirect, 96);
AT(postino_host_mail, delivery_reject, 104);
AT(postino_host_mail, delivery_discard, 112);
AT(postino_host_mail, address_separators, 120);
AT(postino_host_mail, msg_deliver_to, 128);

SIZE(postino_host_mailbox, 208);
AT(postino_host_mailbox, size, 0);
AT(postino_host_mailbox, mailbox_open, 8);
AT(postino_host_mailbox, mailbox_count, 16);
AT(postino_host_mailbox, mailbox_uidvalidity, 24);
AT(postino_host_mailbox, mailbox_message, 32);
AT(postino_host_mailbox, mailbox_read, 40);
AT(postino_host_mailbox, mailbox_expunge, 48);
AT(postino_host_mailbox, mailbox_close, 56);
AT(postino_host_mailbox, mailbox_list, 64);
AT(postino_host_mailbox, mailbox_status, 72);
AT(postino_host_mailbox, mailbox_create, 80);
AT(postino_host_mailbox, mailbox_delete, 88);
AT(postino_host_mailbox, mailbox_rename, 96);
AT(postino_host_mailbox, mailbox_subscribe, 104);
AT(postino_host_mailbox, mailbox_append, 112);
AT(postino_host_mailbox, mailbox_store, 120);
AT(postino_host_mailbox, mailbox_copy, 128);
AT(postino_host_mailbox, mailbox_watch, 136);
AT(postino_host_mailbox, mailbox_sync, 144);
AT(postino_host_mailbox, mailbox_mime, 152);
AT(postino_host_mailbox, mailbox_section, 160);
AT(postino_host_mailbox, mailbox_subscriptions, 168);
AT(postino_host_mailbox, mime_search_text, 176);
AT(postino_host_mailbox, mailbox_highestmodseq, 184);
AT(postino_host_mailbox, mailbox_vanished, 192);
AT(postino_host_mailbox, mailbox_store_unchangedsince, 200);

SIZE(postino_host_account, 72);
AT(postino_host_account, size, 0);
AT(postino_host_account, account_get, 8);
AT(postino_host_account, account_list, 16);
AT(postino_host_account, password_hash, 24);
AT(postino_host_account, password_verify, 32);
AT(postino_host_account, password_in_history, 40);
AT(postino_host_account, password_set_hash, 48);
AT(postino_host_account, account_quota, 56);
AT(postino_host_account, account_set, 64);

SIZE(postino_host, 64);
AT(postino_host, size, 0);
AT(postino_host, abi_major, 8);
AT(postino_host, abi_minor, 12);
AT(postino_host, core, 16);
AT(postino_host, policy, 24);
AT(postino_host, proto, 32);
AT(postino_host, mail, 40);
AT(postino_host, mailbox, 48);
AT(postino_host, account, 56);

SIZE(postino_module, 88);
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
AT(postino_module, requires, 72);
AT(postino_module, cleartext_protocols, 80);
