#ifndef POSTINO_DAEMON_H
#define POSTINO_DAEMON_H

struct daemon_options {
	const char *config_file;
	int check_only; /* -t */
	int init_only;  /* --init */
};

/* Runs postinod; returns the process exit code (sysexits). */
int daemon_run(const struct daemon_options *options);

#endif
