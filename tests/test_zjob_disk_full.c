/*  =========================================================================
    test_zjob_disk_full - a full disk under a real broker, and under a store

    The store lives on a tmpfs of 2 MB mounted for the test (root only: as
    anyone else the tests skip, saying so; CI runs as root), filled with
    a filler file but for a few pages. A real zjobd on it: submits with
    idempotency keys until one is refused, because the journal's write
    failed (ENOSPC); then writes get 503 saying why and since when, while
    reads (GET, LIST, STATS) are served and STATS says the store is not
    writable; the filler goes, and the broker accepts writes again by
    itself within seconds; every job acknowledged is there, also after
    kill -9 and a restart on the same store. Under a file store alone: a
    compaction does not start without room for it, and the store stays
    sound on the full disk. The fini unmounts whatever happened.
    ========================================================================= */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"
#include "zjob_store.h"

#define S_ROOM (16 << 10)   //  bytes the filler leaves free
#define S_SUBMITS_MAX 5000  //  submits before the disk must be full
#define S_RECOVER_MS 10000  //  msecs the broker may take to write again

static zjob_e2e_t s_e2e;
static char s_mount [600];  //  The tmpfs, under the test's directory
static bool s_mounted;

//  The tmpfs of size under a fresh directory; skips the test when it
//  cannot be mounted for lack of privilege
static void
s_mount_tmpfs (const char *size)
{
    if (geteuid () != 0)
        cr_skip_test ("needs root: it mounts a %s tmpfs to fill (CI runs as root)", size);
    cr_assert_geq (snprintf (s_mount, sizeof s_mount, "%s/fs", s_e2e.dir), 0);
    cr_assert_eq (mkdir (s_mount, 0700), 0, "mkdir %s: %s", s_mount, strerror (errno));
    char options [64];
    snprintf (options, sizeof options, "size=%s,mode=0700", size);
    if (mount ("tmpfs", s_mount, "tmpfs", 0, options) != 0) {
        if (errno == EPERM)
            cr_skip_test ("needs CAP_SYS_ADMIN: cannot mount a tmpfs (%s)", strerror (errno));
        cr_assert_fail ("mount tmpfs on %s: %s", s_mount, strerror (errno));
    }
    s_mounted = true;
}

static void
s_init (void)
{
    memset (&s_e2e, 0, sizeof s_e2e);
    s_e2e.broker_out = -1;
    s_e2e.timeout_ms = 3000;
    s_e2e.deadline_ms = ZJOB_E2E_DEADLINE_MS;
    s_e2e.cli_line_ms = ZJOB_E2E_DEADLINE_MS;
    s_e2e.dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_e2e.dir);
    s_mounted = false;
}

static void
s_fini (void)
{
    //  The broker first (it holds the journal open), then the mount,
    //  then the directory under it
    zjob_client_destroy (&s_e2e.client);
    zjob_test_stop (&s_e2e.broker, SIGKILL, s_e2e.deadline_ms);
    if (s_mounted && umount2 (s_mount, MNT_DETACH) != 0)
        fprintf (stderr, "test_zjob_disk_full: cannot unmount %s: %s\n", s_mount,
                 strerror (errno));
    s_mounted = false;
    zjob_e2e_teardown (&s_e2e);
}

TestSuite (disk_full, .init = s_init, .fini = s_fini, .timeout = 120);

//  Bytes free on the tmpfs
static uint64_t
s_free (void)
{
    struct statvfs fs;
    cr_assert_eq (statvfs (s_mount, &fs), 0, "statvfs %s: %s", s_mount, strerror (errno));
    return (uint64_t) fs.f_bavail * fs.f_frsize;
}

//  Fill the tmpfs with the file path but for about room bytes
static void
s_fill (const char *path, uint64_t room)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq (fd, 0, "open %s: %s", path, strerror (errno));
    static char block [64 << 10];
    uint64_t free_now = s_free ();
    uint64_t left = free_now > room ? free_now - room : 0;
    while (left) {
        size_t size = left < sizeof block ? (size_t) left : sizeof block;
        ssize_t done = write (fd, block, size);
        cr_assert_gt (done, 0, "filling %s: %s", path, strerror (errno));
        left -= (uint64_t) done;
    }
    close (fd);
}

//  SUBMIT one job with an idempotency key: 0 with its id, or -1 with err
static int
s_submit (const char *key, char *id, zjob_error_t *err)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = "disk";
    spec.idempotency_key = key;
    return zjob_client_submit (s_e2e.client, &spec, true, id, err);
}

//  STATS: the stored jobs; the store's figure key into value ("" if absent)
static uint64_t
s_stats (const char *key, char *value, size_t size)
{
    zjob_error_t err;
    zjob_reply_t *reply = zjob_client_stats (s_e2e.client, &err);
    cr_assert_not_null (reply, "STATS: %s", err.text);
    zjob_msg_t *msg = zjob_reply_msg (reply);
    uint64_t jobs = zjob_msg_uint (msg, "jobs", UINT64_MAX);
    snprintf (value, size, "%s", "");
    const msgpack_object *store = zjob_msg_field (msg, "store");
    for (uint32_t i = 0; store && store->type == MSGPACK_OBJECT_MAP && i < store->via.map.size; i++) {
        const msgpack_object_kv *kv = &store->via.map.ptr [i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_STR
            && kv->key.via.str.size == strlen (key)
            && memcmp (kv->key.via.str.ptr, key, strlen (key)) == 0)
            snprintf (value, size, "%.*s", (int) kv->val.via.str.size, kv->val.via.str.ptr);
    }
    zjob_reply_destroy (&reply);
    return jobs;
}

//  Whether text says the store cannot write for lack of space, that reads
//  are served and writes come back by themselves
static bool
s_says_full (const char *text)
{
    return strstr (text, "the store cannot write: ") && strstr (text, strerror (ENOSPC))
        && strstr (text, "(since 20") && strstr (text, "; reads are served; writes resume by "
                                                       "themselves when the store can write again");
}

//  Every acknowledged job is there
static void
s_check_acknowledged (char (*ids) [ZJOB_ID_LEN + 1], size_t count, const char *when)
{
    for (size_t index = 0; index < count; index++) {
        zjob_error_t err;
        zjob_job_t *job = zjob_client_get (s_e2e.client, ids [index], &err);
        cr_assert_not_null (job, "acknowledged job %zu (%s) lost %s: %s", index, ids [index],
                            when, err.text);
        zjob_job_destroy (&job);
    }
}

Test (disk_full, writes_are_refused_reads_served_and_it_recovers_by_itself)
{
    s_mount_tmpfs ("2m");
    snprintf (s_e2e.store, sizeof s_e2e.store, "file:%s/data", s_mount);
    zjob_e2e_broker_start (&s_e2e);
    zjob_error_t err;
    s_e2e.client = zjob_client_new (s_e2e.clients, s_e2e.timeout_ms, &err);
    cr_assert_not_null (s_e2e.client, "%s", err.text);

    //  A few pages left: submits until the journal's write fails
    char filler [700];
    snprintf (filler, sizeof filler, "%s/filler", s_mount);
    s_fill (filler, S_ROOM);
    static char acked [S_SUBMITS_MAX][ZJOB_ID_LEN + 1];
    size_t count = 0;
    char key [32], id [ZJOB_ID_LEN + 1];
    bool full = false;
    while (!full && count < S_SUBMITS_MAX) {
        snprintf (key, sizeof key, "k%zu", count);
        if (s_submit (key, id, &err) == 0)
            strcpy (acked [count++], id);
        else {
            cr_assert_eq (err.code, ZJOB_UNAVAILABLE, "submit %zu: %d %s", count, err.code,
                          err.text);
            cr_assert (s_says_full (err.text), "%s", err.text);
            full = true;
        }
    }
    cr_assert (full, "%d submits and the disk is not full", S_SUBMITS_MAX);
    cr_assert_gt (count, 0, "the disk was full before the first submit");
    size_t failed_key = count;  //  Its job is in memory, not acknowledged

    //  While full: writes are refused, reads are served
    snprintf (key, sizeof key, "k%zu", count + 1);
    cr_assert_eq (s_submit (key, id, &err), -1, "a submit was acknowledged on a full disk");
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert (strncmp (err.text, "the store cannot write: ", 24) == 0 && s_says_full (err.text),
               "%s", err.text);
    s_check_acknowledged (acked, count, "while the disk is full");
    zjob_job_t **jobs = NULL;
    size_t listed = 0, total = 0;
    cr_assert_eq (zjob_client_list (s_e2e.client, NULL, &jobs, &listed, &total, &err), 0,
                  "LIST while full: %s", err.text);
    cr_assert_geq (total, count);
    for (size_t index = 0; index < listed; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
    char value [ZJOB_ERROR_TEXT_MAX];
    s_stats ("writable", value, sizeof value);
    cr_assert_str_eq (value, "false");
    s_stats ("write_error", value, sizeof value);
    cr_assert (strstr (value, strerror (ENOSPC)), "write_error: %s", value);
    s_stats ("write_error_since", value, sizeof value);
    cr_assert_eq (strlen (value), 20, "write_error_since: %s", value);
    //  The zjob CLI says so too
    cr_assert_eq (zjob_e2e_cli (&s_e2e, "stats", NULL), 0);
    cr_assert (strstr (s_e2e.cli_out, "writable"), "zjob stats: %s", s_e2e.cli_out);

    //  Room again: the broker finds out by itself; the retry of the
    //  refused submit is accepted
    cr_assert_eq (unlink (filler), 0);
    int64_t freed_at = zjob_mono_ms ();
    snprintf (key, sizeof key, "k%zu", failed_key);
    int rc = -1;
    while (rc != 0 && zjob_mono_ms () - freed_at < S_RECOVER_MS) {
        rc = s_submit (key, id, &err);
        cr_assert (rc == 0 || err.code == ZJOB_UNAVAILABLE, "%d %s", err.code, err.text);
        if (rc)
            zclock_sleep (50);  //  Polling the broker's recovery: no event to wait on
    }
    cr_assert_eq (rc, 0, "writes did not resume within %d ms: %s", S_RECOVER_MS, err.text);
    cr_log_info ("writes resumed %" PRId64 " ms after the space came back",
                 zjob_mono_ms () - freed_at);
    strcpy (acked [count++], id);
    s_stats ("writable", value, sizeof value);
    cr_assert_str_eq (value, "true");
    for (int more = 0; more < 20 && count < S_SUBMITS_MAX; more++) {
        snprintf (key, sizeof key, "after%d", more);
        cr_assert_eq (s_submit (key, id, &err), 0, "submit after recovery: %s", err.text);
        strcpy (acked [count++], id);
    }
    uint64_t stored = s_stats ("writable", value, sizeof value);
    cr_assert_geq (stored, count);

    //  None lost, across kill -9 and a restart on the same store
    zjob_e2e_restart (&s_e2e);
    s_check_acknowledged (acked, count, "after kill -9 and a restart");
    cr_assert_eq (s_stats ("writable", value, sizeof value), stored,
                  "the restarted broker holds another number of jobs");
    cr_assert_str_eq (value, "true");
}

Test (disk_full, a_compaction_without_room_waits_and_the_store_stays_sound)
{
    s_mount_tmpfs ("2m");
    char spec [700];
    snprintf (spec, sizeof spec, "file:%s/data?compact=8k", s_mount);
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "%s", err.text);
    //  Fifty live jobs, then a filler that leaves less than a compaction
    //  needs (twice the live bytes and some)
    zjob_job_t *jobs [50];
    for (int index = 0; index < 50; index++) {
        zjob_spec_t job_spec = { .workflow_id = "compact" };
        jobs [index] = zjob_job_new (&job_spec, &err);
        cr_assert_not_null (jobs [index]);
        cr_assert_eq (zjob_store_put (store, jobs [index], &err), 0, "%s", err.text);
    }
    cr_assert_eq (zjob_store_sync (store, &err), 0, "%s", err.text);
    char filler [700];
    snprintf (filler, sizeof filler, "%s/filler", s_mount);
    s_fill (filler, S_ROOM);
    //  Updates grow the journal past the threshold: no compaction starts,
    //  every sync succeeds while there is room, nothing is left behind
    char tmp [700];
    snprintf (tmp, sizeof tmp, "%s/data/journal.tmp", s_mount);
    int syncs = 0;
    for (int round = 0; round < 4; round++) {
        for (int index = 0; index < 50; index++) {
            jobs [index]->priority = (uint8_t) (round % 4);
            cr_assert_eq (zjob_store_put (store, jobs [index], &err), 0, "%s", err.text);
        }
        if (zjob_store_sync (store, &err) == 0)
            syncs++;
        else
            cr_assert (strstr (err.text, strerror (ENOSPC)), "%s", err.text);
        cr_assert (access (tmp, F_OK) != 0, "a compaction started without room");
    }
    cr_assert_gt (syncs, 0, "no sync succeeded before the disk was full");
    //  Fill the last pages: syncs fail, the store is not broken for it
    int failed = 0;
    for (int round = 0; round < 100 && !failed; round++) {
        for (int index = 0; index < 50; index++)
            cr_assert_eq (zjob_store_put (store, jobs [index], &err), 0, "%s", err.text);
        failed = zjob_store_sync (store, &err) != 0;
    }
    cr_assert (failed, "the disk never filled");
    cr_assert (strstr (err.text, "write failed") && strstr (err.text, strerror (ENOSPC)), "%s",
               err.text);
    cr_assert_not (zjob_store_writable (store, NULL, NULL));
    //  Room again: the next sync writes what was left
    cr_assert_eq (unlink (filler), 0);
    jobs [7]->priority = 3;
    cr_assert_eq (zjob_store_put (store, jobs [7], &err), 0, "%s", err.text);
    cr_assert_eq (zjob_store_sync (store, &err), 0, "after the space came back: %s", err.text);
    cr_assert (zjob_store_writable (store, NULL, NULL));
    zjob_store_destroy (&store);
    store = zjob_store_open (spec, &err);
    cr_assert_not_null (store, "reopen: %s", err.text);
    cr_assert_eq (zjob_store_count (store), 50);
    zjob_job_t *job = zjob_store_get (store, jobs [7]->id);
    cr_assert_not_null (job);
    cr_assert_eq (job->priority, 3, "not the latest state");
    zjob_job_destroy (&job);
    zjob_store_destroy (&store);
    for (int index = 0; index < 50; index++)
        zjob_job_destroy (&jobs [index]);
}
