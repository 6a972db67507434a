/* path_trust_check (the StrictModes rules for modules) on a real tree
 * under /tmp, which is itself the sticky case: root's /tmp, then a
 * directory of ours. Cases that need a file owned by another user chown
 * it to 65534 and only run as root (as CI does). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path_trust.h"

#define OTHER_UID 65534

static char root[64]; /* /tmp/test-path-trust-XXXXXX */
static char why[1024];

static const char *at(const char *rel)
{
	static char paths[4][PATH_MAX];
	static unsigned next;
	char *path = paths[next++ % 4];

	snprintf(path, PATH_MAX, "%s/%s", root, rel);
	return path;
}

static void mkdir_mode(const char *rel, mode_t mode)
{
	ck_assert_int_eq(mkdir(at(rel), 0700), 0);
	ck_assert_int_eq(chmod(at(rel), mode), 0);
}

static void file_mode(const char *rel, mode_t mode)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(at(rel), mode), 0);
}

static int check(const char *path)
{
	why[0] = '\0';
	return path_trust_check(path, getuid(), why, sizeof(why));
}

/* why must be exactly "<root>/<rel><rest>". */
static void assert_why(const char *rel, const char *rest)
{
	char want[PATH_MAX + 200];

	snprintf(want, sizeof(want), "%s%s", at(rel), rest);
	ck_assert_str_eq(why, want);
}

static void make_root(void)
{
	snprintf(root, sizeof(root), "/tmp/test-path-trust-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	mkdir_mode("mods", 0755);
	file_mode("mods/m.so", 0644);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static void remove_root(void)
{
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

START_TEST(private_tree_under_tmp_is_trusted)
{
	ck_assert_int_eq(check(at("mods/m.so")), 0);
	ck_assert_str_eq(why, "");
	/* Written with redundant slashes and dots, it is the same file. */
	ck_assert_int_eq(check(at("mods//./m.so")), 0);
}
END_TEST

START_TEST(world_writable_directory_is_refused)
{
	ck_assert_int_eq(chmod(at("mods"), 0777), 0);
	ck_assert_int_eq(check(at("mods/m.so")), -EPERM);
	assert_why("mods", " is writable by others (mode 0777)");
}
END_TEST

START_TEST(group_writable_parent_is_refused)
{
	mkdir_mode("a", 0775);
	mkdir_mode("a/mods", 0755);
	file_mode("a/mods/m.so", 0755);
	ck_assert_int_eq(check(at("a/mods/m.so")), -EPERM);
	assert_why("a", " is writable by its group (mode 0775)");
}
END_TEST

START_TEST(writable_file_is_refused)
{
	ck_assert_int_eq(chmod(at("mods/m.so"), 0666), 0);
	ck_assert_int_eq(check(at("mods/m.so")), -EPERM);
	assert_why("mods/m.so", " is writable by others (mode 0666)");
	ck_assert_int_eq(chmod(at("mods/m.so"), 0624), 0);
	ck_assert_int_eq(check(at("mods/m.so")), -EPERM);
	assert_why("mods/m.so", " is writable by its group (mode 0624)");
}
END_TEST

/* Like /tmp: anyone may add entries, nobody may replace ours. */
START_TEST(sticky_directory_with_our_entry_is_trusted)
{
	mkdir_mode("shared", 01777);
	mkdir_mode("shared/mods", 0755);
	file_mode("shared/mods/m.so", 0644);
	file_mode("shared/m.so", 0644);
	ck_assert_int_eq(check(at("shared/mods/m.so")), 0);
	ck_assert_int_eq(check(at("shared/m.so")), 0);
	/* The directory's sticky bit is no excuse for a writable file. */
	ck_assert_int_eq(chmod(at("shared/m.so"), 0666), 0);
	ck_assert_int_eq(check(at("shared/m.so")), -EPERM);
	assert_why("shared/m.so", " is writable by others (mode 0666)");
}
END_TEST

START_TEST(sticky_directory_with_foreign_entry_is_refused)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root, skipped\n", __func__);
		return;
	}
	mkdir_mode("shared", 01777);
	mkdir_mode("shared/evil", 0755);
	file_mode("shared/evil/m.so", 0644);
	ck_assert_int_eq(chown(at("shared/evil"), OTHER_UID, -1), 0);
	ck_assert_int_eq(path_trust_check(at("shared/evil/m.so"), 0, why,
					  sizeof(why)), -EPERM);
	assert_why("shared/evil", " is owned by uid 65534, not by root");
	/* The file as the sticky directory's next component. */
	file_mode("shared/m.so", 0644);
	ck_assert_int_eq(chown(at("shared/m.so"), OTHER_UID, -1), 0);
	ck_assert_int_eq(path_trust_check(at("shared/m.so"), 0, why,
					  sizeof(why)), -EPERM);
	assert_why("shared/m.so", " is owned by uid 65534, not by root");
}
END_TEST

START_TEST(file_owned_by_another_user_is_refused)
{
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root, skipped\n", __func__);
		return;
	}
	ck_assert_int_eq(chown(at("mods/m.so"), OTHER_UID, -1), 0);
	ck_assert_int_eq(path_trust_check(at("mods/m.so"), 0, why,
					  sizeof(why)), -EPERM);
	assert_why("mods/m.so", " is owned by uid 65534, not by root");
	/* The invoking user's own file is fine (a developer's build)... */
	ck_assert_int_eq(path_trust_check(at("mods/m.so"), OTHER_UID, why,
					  sizeof(why)), 0);
	/* ...a third user's is not. */
	ck_assert_int_eq(path_trust_check(at("mods/m.so"), 1234, why,
					  sizeof(why)), -EPERM);
	assert_why("mods/m.so", " is owned by uid 65534, not by root or "
		   "uid 1234");
}
END_TEST

START_TEST(symlinks_are_checked_as_links_and_resolved)
{
	ck_assert_int_eq(symlink(at("mods/m.so"), at("link.so")), 0);
	ck_assert_int_eq(symlink("mods", at("dirlink")), 0);
	ck_assert_int_eq(check(at("link.so")), 0);
	ck_assert_int_eq(check(at("dirlink/m.so")), 0);

	/* A good-looking link into a world-writable directory. */
	mkdir_mode("open", 0777);
	file_mode("open/m.so", 0644);
	ck_assert_int_eq(symlink(at("open/m.so"), at("bad.so")), 0);
	ck_assert_int_eq(check(at("bad.so")), -EPERM);
	assert_why("open", " is writable by others (mode 0777)");

	/* A dangling link is a missing module. */
	ck_assert_int_eq(symlink(at("mods/none.so"), at("dangling.so")), 0);
	ck_assert_int_eq(check(at("dangling.so")), -ENOENT);
	ck_assert_str_eq(why, "No such file or directory");

	if (geteuid() != 0)
		return;
	/* Whoever owns the link decides where it points. */
	ck_assert_int_eq(lchown(at("link.so"), OTHER_UID, -1), 0);
	ck_assert_int_eq(path_trust_check(at("link.so"), 0, why,
					  sizeof(why)), -EPERM);
	assert_why("link.so", " is owned by uid 65534, not by root");
}
END_TEST

START_TEST(missing_paths_say_which_part_is_missing)
{
	ck_assert_int_eq(check(at("mods/none.so")), -ENOENT);
	ck_assert_str_eq(why, "No such file or directory");
	ck_assert_int_eq(check(at("nodir/m.so")), -ENOENT);
	assert_why("nodir", ": No such file or directory");
}
END_TEST

START_TEST(relative_paths_start_at_the_working_directory)
{
	char *cwd = getcwd(NULL, 0);

	ck_assert_ptr_nonnull(cwd);
	ck_assert_int_eq(chdir(root), 0);
	ck_assert_int_eq(check("mods/m.so"), 0);
	ck_assert_int_eq(chmod("mods", 0777), 0);
	ck_assert_int_eq(check("mods/m.so"), -EPERM);
	assert_why("mods", " is writable by others (mode 0777)");
	ck_assert_int_eq(chdir(cwd), 0);
	free(cwd);
}
END_TEST

START_TEST(only_regular_files_are_trusted)
{
	ck_assert_int_eq(check(at("mods")), -EPERM);
	assert_why("mods", " is not a regular file");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("path_trust");
	TCase *tc = tcase_create("strict modes");

	tcase_add_checked_fixture(tc, make_root, remove_root);
	tcase_add_test(tc, private_tree_under_tmp_is_trusted);
	tcase_add_test(tc, world_writable_directory_is_refused);
	tcase_add_test(tc, group_writable_parent_is_refused);
	tcase_add_test(tc, writable_file_is_refused);
	tcase_add_test(tc, sticky_directory_with_our_entry_is_trusted);
	tcase_add_test(tc, sticky_directory_with_foreign_entry_is_refused);
	tcase_add_test(tc, file_owned_by_another_user_is_refused);
	tcase_add_test(tc, symlinks_are_checked_as_links_and_resolved);
	tcase_add_test(tc, missing_paths_say_which_part_is_missing);
	tcase_add_test(tc, relative_paths_start_at_the_working_directory);
	tcase_add_test(tc, only_regular_files_are_trusted);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
