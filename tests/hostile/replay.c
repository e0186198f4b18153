/*
 * replay.c - runs a libFuzzer target's entry point over stored inputs,
 * without libFuzzer: the fuzz_milter seed corpus (and any crash inputs
 * kept as regressions) replayed in make check, under ASan too.
 *
 * Usage: replay FILE|DIR...   Exit status 0 when every input ran (a broken
 * invariant traps, a sanitizer report aborts), 1 when an input is
 * unreadable, 77 when there is nothing to run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	uint8_t chunk[65536];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n > cap) {
			cap = (len + n) * 2;
			uint8_t *b = realloc(buf, cap);
			if (b == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = b;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf != NULL ? buf : (const uint8_t *)"", len);
	free(buf);
	return 1;
}

static int replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		int r = replay_path(sub);
		if (r < 0) {
			closedir(d);
			return -1;
		}
		count += r;
	}
	closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	int total = 0;
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		int r = replay_path(argv[i]);
		if (r < 0)
			return 1;
		total += r;
	}
	printf("replayed %d inputs\n", total);
	return total > 0 ? 0 : 77;
}
