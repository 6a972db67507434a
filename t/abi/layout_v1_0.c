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

_Static_assert(POSTINO_HOOK_SMTP_CONNECT == 1 &&
	       POSTINO_HOOK_PASSWORD_CHANGED == 11, "hook points renumbered");
_Static_assert(POSTINO_CONTINUE == 0 && POSTINO_PENDING == 4,
	       "verdicts renumbered");
_Static_assert(POSTINO_CONFIG_STRING == 1 && POSTINO_CONFIG_SIZE == 5,
	       "config types renumbered");
_Static_assert(POSTINO_LOG_ERROR == 0 && POSTINO_LOG_DEBUG == 3,
	       "log levels renumbered");

int main(void)
{
	return 0;
}
