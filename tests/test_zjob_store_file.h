/*  =========================================================================
    test_zjob_store_file - what the file store's tests share

    Temporary directories, opening and syncing a store, reading and writing
    the journal's bytes by hand (following the format in the banner of
    broker/zjob_store_file.c), jobs numbered through their user_id, and the
    census of a reopened store. Included by tests/test_zjob_store_file*.c;
    its functions are static inline, so a file that uses some of them gets
    no warning for the others.
    ========================================================================= */

#ifndef TEST_ZJOB_STORE_FILE_H_INCLUDED
#define TEST_ZJOB_STORE_FILE_H_INCLUDED

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zjob_store.h"
#include "zjob_store_file.h"
#include "helper_zjob_test.h"

//  --------------------------------------------------------------------------
//  Helpers

static inline char *
s_tmpdir (void)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir, "cannot make a temporary directory");
    return dir;
}

static inline void
s_tmpdir_remove (char **path_p)
{
    zjob_test_rmtree (*path_p);
    cr_assert (!zsys_file_exists (*path_p), "%s not removed", *path_p);
    free (*path_p);
    *path_p = NULL;
}

//  Open file:DIR/store?options, or NULL with err filled
static inline zjob_store_t *
s_try_open (const char *dir, const char *options, zjob_error_t *err)
{
    char *spec = zsys_sprintf ("file:%s/store%s%s", dir, options ? "?" : "", options ? options : "");
    zjob_store_t *store = zjob_store_open (spec, err);
    zstr_free (&spec);
    return store;
}

static inline zjob_store_t *
s_open (const char *dir, const char *options)
{
    zjob_error_t err = { 0, "" };
    zjob_store_t *store = s_try_open (dir, options, &err);
    cr_assert_not_null (store, "open %s/store?%s: %s", dir, options ? options : "", err.text);
    return store;
}

static inline void
s_sync (zjob_store_t *store)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_sync (store, &err), 0, "sync: %s", err.text);
}

static inline char *
s_journal (const char *dir)
{
    return zsys_sprintf ("%s/store/journal", dir);
}

static inline off_t
s_size (const char *path)
{
    struct stat status;
    cr_assert_eq (stat (path, &status), 0, "stat %s: %s", path, strerror (errno));
    return status.st_size;
}

static inline void
s_append (const char *path, const void *data, size_t size)
{
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    cr_assert_geq (fd, 0, "open %s: %s", path, strerror (errno));
    cr_assert_eq (write (fd, data, size), (ssize_t) size);
    close (fd);
}

//  Read size bytes of path at offset into data
static inline void
s_read_at (const char *path, off_t offset, void *data, size_t size)
{
    int fd = open (path, O_RDONLY);
    cr_assert_geq (fd, 0, "open %s: %s", path, strerror (errno));
    cr_assert_eq (pread (fd, data, size, offset), (ssize_t) size);
    close (fd);
}

static inline void
s_write_at (const char *path, off_t offset, const void *data, size_t size)
{
    int fd = open (path, O_WRONLY);
    cr_assert_geq (fd, 0, "open %s: %s", path, strerror (errno));
    cr_assert_eq (pwrite (fd, data, size, offset), (ssize_t) size);
    close (fd);
}

//  Format 2: [length][CRC of the payload][CRC of the 8 bytes before]
#define S_HEADER 12

//  Offsets of the journal's records, from their length fields; returns
//  how many (at most max)
static inline size_t
s_record_offsets (const char *path, off_t *offsets, size_t max)
{
    off_t size = s_size (path);
    off_t offset = 8;
    size_t count = 0;
    while (offset + S_HEADER <= size && count < max) {
        uint8_t header [4];
        s_read_at (path, offset, header, 4);
        uint32_t length = header [0] | header [1] << 8 | header [2] << 16 | (uint32_t) header [3] << 24;
        offsets [count++] = offset;
        offset += S_HEADER + length;
    }
    return count;
}

static inline void
s_le32 (uint8_t *at, uint32_t value)
{
    for (int index = 0; index < 4; index++)
        at [index] = (uint8_t) (value >> (8 * index));
}

//  A new job whose user_id is "n<number>", so that tests can find it
static inline zjob_job_t *
s_job (int number, zjob_status_t status)
{
    char user [32];
    snprintf (user, sizeof user, "n%d", number);
    zjob_spec_t spec;
    memset (&spec, 0, sizeof spec);
    spec.workflow_id = "journal";
    spec.user_id = user;
    zjob_error_t err = { 0, "" };
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job, "job: %s", err.text);
    job->status = (uint8_t) status;
    return job;
}

static inline void
s_put (zjob_store_t *store, zjob_job_t *job)
{
    zjob_error_t err = { 0, "" };
    cr_assert_eq (zjob_store_put (store, job, &err), 0, "put %s: %s", job->id, err.text);
}

//  Put n new jobs, syncing after each; their ids go to ids
static inline void
s_put_new (zjob_store_t *store, int first, int count, char (*ids) [ZJOB_ID_LEN + 1])
{
    for (int index = 0; index < count; index++) {
        zjob_job_t *job = s_job (first + index, ZJOB_QUEUED);
        s_put (store, job);
        strcpy (ids [index], job->id);
        zjob_job_destroy (&job);
        s_sync (store);
    }
}

static inline bool
s_has (zjob_store_t *store, const char *id)
{
    zjob_job_t *job = zjob_store_get (store, id);
    bool found = job != NULL;
    zjob_job_destroy (&job);
    return found;
}

static inline uint64_t
s_stat (zjob_store_t *store, const char *key)
{
    zhashx_t *stats = zhashx_new ();
    zhashx_set_duplicator (stats, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (stats, (zhashx_destructor_fn *) zstr_free);
    zjob_store_stats (store, stats);
    const char *value = (const char *) zhashx_lookup (stats, key);
    cr_assert_not_null (value, "no stat %s", key);
    uint64_t number = strtoull (value, NULL, 10);
    zhashx_destroy (&stats);
    return number;
}

//  Sync until no compaction is under way: a compaction runs on its own
//  thread and the store switches to its journal at the first sync after
//  it is done. Polls with a deadline.
static inline void
s_settle (zjob_store_t *store)
{
    int64_t deadline = zclock_mono () + 20000;
    s_sync (store);
    while (s_stat (store, "compacting")) {
        cr_assert_lt (zclock_mono (), deadline, "a compaction did not finish in 20 s");
        zclock_sleep (1);
        s_sync (store);
    }
}

//  The job's encoding, to compare whole states; caller frees
static inline zchunk_t *
s_encoding (const zjob_job_t *job)
{
    uint8_t *data;
    size_t size;
    cr_assert_eq (zjob_job_encode (job, &data, &size), 0);
    zchunk_t *chunk = zchunk_new (data, size);
    free (data);
    return chunk;
}

static inline bool
s_same (zchunk_t *one, zchunk_t *other)
{
    return zchunk_size (one) == zchunk_size (other)
        && memcmp (zchunk_data (one), zchunk_data (other), zchunk_size (one)) == 0;
}

//  Name of the first file in dir that starts with prefix, or NULL; caller frees
static inline char *
s_find_file (const char *dir, const char *prefix)
{
    zdir_t *listing = zdir_new (dir, NULL);
    cr_assert_not_null (listing, "list %s", dir);
    zfile_t **files = zdir_flatten (listing);
    char *found = NULL;
    for (size_t index = 0; files [index] && !found; index++) {
        const char *name = strrchr (zfile_filename (files [index], NULL), '/');
        name = name ? name + 1 : zfile_filename (files [index], NULL);
        if (strncmp (name, prefix, strlen (prefix)) == 0)
            found = strdup (zfile_filename (files [index], NULL));
    }
    zdir_flatten_free (&files);
    zdir_destroy (&listing);
    return found;
}

static inline void
s_flip_bit (const char *path, off_t offset, int bit)
{
    uint8_t byte;
    s_read_at (path, offset, &byte, 1);
    byte ^= (uint8_t) (1u << bit);
    s_write_at (path, offset, &byte, 1);
}

//  What the reopened store holds, by job number
typedef struct {
    uint8_t *status;  //  status + 1 per number, 0 = absent
    int64_t *completed_at;
    size_t size;
} s_found_t;

static inline int
s_found_visit (zjob_job_t *job, void *arg)
{
    s_found_t *found = (s_found_t *) arg;
    cr_assert_not_null (job->user_id);
    size_t number = strtoul (job->user_id + 1, NULL, 10);
    if (number < found->size) {
        found->status [number] = job->status + 1;
        found->completed_at [number] = job->completed_at;
    }
    return 0;
}

#endif
