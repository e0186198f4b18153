/*
 * test_log.c - Criterion tests for opendkim/log.c: standard error is
 * left out when it is the systemd journal (JOURNAL_STREAM, systemd.exec(5))
 * and syslog already has the line; otherwise the foreground gets every line.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

Test(log, journal_stream_syntax)
{
	cr_assert(log_journal_stream_matches("8:1234", 8, 1234));
	cr_assert(log_journal_stream_matches("66306:18446744073709551615", 66306,
	                                     (ino_t)18446744073709551615ull));
	cr_assert_not(log_journal_stream_matches("8:1235", 8, 1234));
	cr_assert_not(log_journal_stream_matches("9:1234", 8, 1234));
	cr_assert_not(log_journal_stream_matches(NULL, 8, 1234));
	cr_assert_not(log_journal_stream_matches("", 8, 1234));
	cr_assert_not(log_journal_stream_matches("8", 8, 1234));
	cr_assert_not(log_journal_stream_matches(":1234", 8, 1234));
	cr_assert_not(log_journal_stream_matches("8:", 8, 1234));
	cr_assert_not(log_journal_stream_matches("8:1234x", 8, 1234));
	cr_assert_not(log_journal_stream_matches(" 8:1234", 8, 1234));
	cr_assert_not(log_journal_stream_matches("8: 1234", 8, 1234));
	cr_assert_not(log_journal_stream_matches("-8:1234", (dev_t)-8, 1234));
	cr_assert_not(log_journal_stream_matches("8:1234:5", 8, 1234));
	cr_assert_not(log_journal_stream_matches("99999999999999999999:1", 8, 1));
}

/* Runs log lines with standard error sent to a fresh file; its text. */
static char *log_to_file(bool use_syslog, const char *journal)
{
	char path[] = "/tmp/test_log.XXXXXX", env[64], *text;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	FILE *f;
	long n;

	cr_assert(fd >= 0 && saved >= 0);
	cr_assert_eq(fstat(fd, &st), 0);
	if (journal == NULL) {
		snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		         (unsigned long long)st.st_ino);
		journal = env;
	}
	setenv("JOURNAL_STREAM", journal, 1);
	dup2(fd, STDERR_FILENO);
	log_setup("test_log", use_syslog, LOG_MAIL, true);
	log_msg(LOG_INFO, "line %d", 1);
	log_setup("test_log", false, LOG_MAIL, false);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return text;
}

Test(log, journal_gets_syslog_copy_only)
{
	char *text = log_to_file(true, NULL);

	cr_assert_str_empty(text, "line duplicated on the journal's stream: %s", text);
	free(text);
}

Test(log, stderr_kept_when_not_the_journal)
{
	char *text = log_to_file(true, "1:1");

	cr_assert(strstr(text, "]: line 1\n") != NULL, "%s", text);
	free(text);
}

/* Without syslog, standard error is the only copy, journal or not. */
Test(log, stderr_kept_without_syslog)
{
	char *text = log_to_file(false, NULL);

	cr_assert(strstr(text, "]: line 1\n") != NULL, "%s", text);
	free(text);
}

/* SyslogName: the identifier of the lines; a new one takes effect at once,
 * and the caller's string need not outlive the call (it is copied). */
Test(log, identifier_changes_and_is_copied)
{
	char path[] = "/tmp/test_log.XXXXXX", name[16], text[256];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	cr_assert(fd >= 0 && saved >= 0);
	unsetenv("JOURNAL_STREAM");
	dup2(fd, STDERR_FILENO);
	snprintf(name, sizeof(name), "dkim-out");
	log_setup(name, false, LOG_MAIL, true);
	memset(name, 'x', sizeof(name) - 1);
	log_msg(LOG_INFO, "one");
	log_setup("dkim-in", false, LOG_MAIL, true);
	log_msg(LOG_INFO, "two");
	log_setup("test_log", false, LOG_MAIL, false);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	cr_assert(n > 0);
	text[n] = '\0';
	cr_assert(strncmp(text, "dkim-out[", 9) == 0, "%s", text);
	cr_assert(strstr(text, "]: one\ndkim-in[") != NULL, "%s", text);
	cr_assert(strstr(text, "]: two\n") != NULL, "%s", text);
}
