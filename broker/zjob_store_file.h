/*  =========================================================================
    zjob_store_file - what the file store offers beyond zjob_store.h

    The file store is opened through zjob_store_open ("file:DIR?...") or
    zjob_store_file_new (zjob_store.h). This header is for its tests: a
    crash is simulated by ending the process at a named step of a
    compaction, in a child process, which then reopens nothing; the parent
    reopens the directory and checks that every acknowledged job is there.
    ========================================================================= */

#ifndef ZJOB_STORE_FILE_H_INCLUDED
#define ZJOB_STORE_FILE_H_INCLUDED

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Exit status of a process stopped by zjob_store_file_crash_at
#define ZJOB_STORE_FILE_CRASH_STATUS 86

//  Tests only: from now on, the process _exits (with the status above,
//  without flushing or closing anything, as a crash would) when a
//  compaction reaches step: "started" (journal.tmp created), "scanned"
//  (the old journal indexed, on the compactor thread), "written" (the
//  snapshot written, not yet fdatasynced), "synced" (journal.tmp
//  fdatasynced, the tail being copied), "tail" (the switch copied the last
//  of the tail, before its fdatasync), "renamed" (journal.tmp renamed
//  over journal, the directory not yet fsynced), "switched" (the store
//  appends to the new journal). NULL turns it off. Process-wide.
void
zjob_store_file_crash_at (const char *step);

//  Tests only: while fail is true, every fdatasync of the journal fails
//  with EIO (the store then turns broken: zjob_store_file.c), on the
//  caller's thread or the sync thread. Process-wide; off by default.
void
zjob_store_file_fail_fsyncs (bool fail);

//  Tests only: while hold is true, the sync thread waits before each
//  fdatasync it starts (an asynchronous sync stays under way: a crash
//  between the write and the fdatasync). Process-wide; off by default.
void
zjob_store_file_hold_fsyncs (bool hold);

#ifdef __cplusplus
}
#endif

#endif
