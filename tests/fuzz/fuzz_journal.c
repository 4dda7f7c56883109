/*  =========================================================================
    fuzz_journal - libFuzzer harness: a journal file, as a restart reads it

    Bytes that start with the journal's magic ("ZJOBJNL") are written as
    they are as DIR/journal (one temporary directory, emptied for each
    input). Any other bytes are a list of record payloads, each a 2-byte
    little-endian length and that many bytes (the last one cut short if
    the input ends), which the harness frames as the store does: magic,
    then each with its length and CRCs. Mutated framing almost never
    passes the CRCs, so without this second form the fuzzer would rarely
    reach what replay does with a record's content (the job codec, the
    named records); with it, it reaches it at once. The journal is and opened with the file store (fsync=never, so that
    millions of inputs cost no disk flush). A journal the store refuses
    is opened again with salvage=truncate, as an operator would. An open
    store is read whole (every job, every record of the broker's kinds),
    gets one job and one record more, syncs and closes; and must then
    reopen, without salvage, to the same jobs and records: what recovery
    kept and the store wrote after it is a journal the store reads.
    ========================================================================= */

#include "zjob_store.h"
#include "zjob_util.h"
#include "fuzz_common.h"
#include <dirent.h>

static char s_dir [64];  //  The store's directory, made once

static const char *s_kinds [] = { "template", "schedule", "batch", "queue" };
#define S_KINDS (sizeof (s_kinds) / sizeof (s_kinds [0]))

//  Remove every file in the directory (journal, lock, corrupt copies)
static void
s_empty_dir (void)
{
    DIR *dir = opendir (s_dir);
    if (!dir)
        abort ();
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char path [512];
        snprintf (path, sizeof (path), "%s/%s", s_dir, entry->d_name);
        unlink (path);
    }
    closedir (dir);
}

static void
s_cleanup (void)
{
    s_empty_dir ();
    rmdir (s_dir);
}

//  Visitors: read what they are given, as the broker's loaders do
static int
s_visit_job (zjob_job_t *job, void *arg)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (zjob_job_encode (job, &data, &size))
        abort ();
    free (data);
    (*(size_t *) arg)++;
    return 0;
}

static int
s_visit_record (const char *name, const uint8_t *data, size_t size, void *arg)
{
    if (!name || !data || size == 0 || !zjob_name_valid (name))
        abort ();
    (*(size_t *) arg)++;
    return 0;
}

//  Jobs and records of the store, counted by reading every one
static void
s_read_all (zjob_store_t *store, size_t counts [S_KINDS + 1])
{
    counts [0] = 0;
    zjob_store_iterate (store, NULL, s_visit_job, &counts [0]);
    if (counts [0] != zjob_store_count (store))
        abort ();
    for (size_t kind = 0; kind < S_KINDS; kind++) {
        counts [kind + 1] = 0;
        zjob_store_record_each (store, s_kinds [kind], s_visit_record, &counts [kind + 1]);
    }
}

//  Add a job and a record, so that the recovered journal is appended to
static void
s_append (zjob_store_t *store)
{
    zjob_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.workflow_id = "fuzz";
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    if (!job)
        abort ();
    if (zjob_store_put (store, job, &err))
        abort ();
    zjob_job_destroy (&job);
    static const uint8_t record [] = { 0x80 };  //  An empty map
    if (zjob_store_record_put (store, "queue", "fuzz-appended", record, sizeof (record), &err))
        abort ();
    (void) zjob_store_sync (store, &err);
}

static void
s_put_le32 (uint8_t *at, uint32_t value)
{
    for (int byte = 0; byte < 4; byte++)
        at [byte] = (uint8_t) (value >> (8 * byte));
}

//  Write data to file as the journal: as it is, or framed (above)
static void
s_write_journal (FILE *file, const uint8_t *data, size_t size)
{
    if (size >= 7 && memcmp (data, "ZJOBJNL", 7) == 0) {
        if (fwrite (data, 1, size, file) != size)
            abort ();
        return;
    }
    fwrite ("ZJOBJNL2", 1, 8, file);
    size_t offset = 0;
    while (offset + 2 <= size) {
        size_t length = data [offset] | (size_t) data [offset + 1] << 8;
        offset += 2;
        if (length > size - offset)
            length = size - offset;
        uint8_t header [12];
        s_put_le32 (header, (uint32_t) length);
        s_put_le32 (header + 4, zjob_crc32c (0, data + offset, length));
        s_put_le32 (header + 8, zjob_crc32c (0, header, 8));
        if (fwrite (header, 1, 12, file) != 12
            || (length && fwrite (data + offset, 1, length, file) != length))
            abort ();
        offset += length;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_quiet ();
    if (!*s_dir) {
        fuzz_tmpdir (s_dir, sizeof (s_dir), "zjob-fuzz-journal-XXXXXX");
        atexit (s_cleanup);
    }
    s_empty_dir ();
    char path [128];
    snprintf (path, sizeof (path), "%s/journal", s_dir);
    FILE *file = fopen (path, "wb");
    if (!file)
        abort ();
    s_write_journal (file, data, size);
    fclose (file);

    char spec [128], salvage [160];
    snprintf (spec, sizeof (spec), "file:%s?fsync=never", s_dir);
    snprintf (salvage, sizeof (salvage), "%s&salvage=truncate", spec);
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    if (!store)
        store = zjob_store_open (salvage, &err);
    if (!store)
        return 0;
    size_t before [S_KINDS + 1], after [S_KINDS + 1];
    s_read_all (store, before);
    s_append (store);
    s_read_all (store, before);
    zjob_store_destroy (&store);

    store = zjob_store_open (spec, &err);
    if (!store)
        abort ();  //  The store cannot read what it wrote
    s_read_all (store, after);
    if (memcmp (before, after, sizeof (before)))
        abort ();  //  Not the same jobs and records after a reopen
    zjob_store_destroy (&store);
    return 0;
}
