/* Per-message cost of mime_summary_build: a 4 KiB plain message and a
 * 100 KiB multipart (text, html, base64 attachment, forwarded message).
 * Median of 7 runs of N builds each. Build without sanitizers:
 *   gcc -O2 -Icore t/bench/mime_build.c core/mime/mime*.c \
 *       $(pkg-config --cflags --libs gmime-3.0) -o /tmp/mime_build
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "mime/mime.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_us(const GString *m, int n)
{
	double runs[7];

	for (int r = 0; r < 7; r++) {
		gint64 t0 = g_get_monotonic_time();

		for (int i = 0; i < n; i++) {
			struct mime_summary s;

			if (mime_summary_build(m->str, m->len, &s) < 0)
				abort();
			mime_summary_free(&s);
		}
		runs[r] = (double)(g_get_monotonic_time() - t0) / n;
	}
	qsort(runs, 7, sizeof(runs[0]), cmp);
	return runs[3];
}

int main(void)
{
	GString *plain = g_string_new("From: Alice <alice@example.org>\r\n"
				      "To: bob@example.net\r\nSubject: hello\r\n"
				      "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
				      "Message-ID: <x@example.org>\r\n"
				      "Content-Type: text/plain; charset=utf-8"
				      "\r\n\r\n");
	GString *multi = g_string_new("From: Alice <alice@example.org>\r\n"
				      "To: bob@example.net\r\nSubject: files\r\n"
				      "Content-Type: multipart/mixed; "
				      "boundary=\"mix\"\r\n\r\n--mix\r\n"
				      "Content-Type: multipart/alternative; "
				      "boundary=\"alt\"\r\n\r\n--alt\r\n"
				      "Content-Type: text/plain\r\n\r\n");

	mime_init();
	while (plain->len < 4096)
		g_string_append(plain, "The quick brown fox jumps over the "
				       "lazy dog, again and again.\r\n");
	for (int i = 0; i < 100; i++)
		g_string_append(multi, "Some text of the mail body here.\r\n");
	g_string_append(multi, "--alt\r\nContent-Type: text/html\r\n\r\n");
	for (int i = 0; i < 100; i++)
		g_string_append(multi, "<p>Some text of the mail body.</p>\r\n");
	g_string_append(multi, "--alt--\r\n--mix\r\nContent-Type: "
			       "application/pdf; name=\"a.pdf\"\r\n"
			       "Content-Transfer-Encoding: base64\r\n\r\n");
	while (multi->len < 90 * 1024)
		g_string_append(multi, "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDw"
				       "vTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZUQ=\r\n");
	g_string_append(multi, "--mix\r\nContent-Type: message/rfc822\r\n\r\n"
			       "From: c@example.org\r\nSubject: fwd\r\n\r\n");
	while (multi->len < 100 * 1024)
		g_string_append(multi, "forwarded text line, plain ascii\r\n");
	g_string_append(multi, "--mix--\r\n");
	printf("4 KiB plain (%zu B): %.1f us/message\n", plain->len,
	       median_us(plain, 2000));
	printf("100 KiB multipart (%zu B): %.1f us/message\n", multi->len,
	       median_us(multi, 200));
	mime_shutdown();
	return 0;
}
