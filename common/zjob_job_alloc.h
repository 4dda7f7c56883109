/*  =========================================================================
    zjob_job_alloc - what zjob_job.c and zjob_job_codec.c share

    A job is built in one way only, whether it is created from a spec
    (zjob_job_new) or decoded from msgpack (zjob_job_codec.c): its fixed
    fields are checked with the same checks, gathered in a
    zjob_job_fixed_t, and placed in one allocation by zjob_job_alloc. This
    header is private to those two files: nothing else includes it, it is
    not installed, and libzjob exports none of it.
    ========================================================================= */

#ifndef ZJOB_JOB_ALLOC_H_INCLUDED
#define ZJOB_JOB_ALLOC_H_INCLUDED

#include "zjob_job_impl.h"

//  A string that need not be NUL-terminated (msgpack str values are not)
typedef struct {
    const char *ptr;  //  NULL for none
    size_t len;       //  bytes, without any NUL
} zjob_text_t;

//  What goes into a job's single allocation
typedef struct {
    zjob_text_t workflow_id;           //  Required
    zjob_text_t user_id;               //  ptr NULL if none
    zjob_text_t idempotency_key;       //  ptr NULL if none
    zjob_text_t tags [ZJOB_TAGS_MAX];  //  tag_count entries
    size_t tag_count;
    zjob_bytes_t inputs;  //  Empty: data NULL, size 0
    zjob_bytes_t metadata;
    //  The extra block's (zjob_extra_t): placed only when one is set
    zjob_text_t parents [ZJOB_PARENTS_MAX];  //  parent_count entries
    size_t parent_count;
    uint8_t on_parent_failure;
    zjob_text_t batch_id;       //  ptr NULL if none
    zjob_text_t template_name;  //  ptr NULL if none
    zjob_text_t schedule_id;    //  ptr NULL if none
    zjob_text_t unique_key;     //  ptr NULL if none
    int64_t scheduled_for;
} zjob_job_fixed_t;

//  A zeroed job with one reference and the fixed fields copied into its
//  one allocation, or NULL if out of memory. The caller sets the id and
//  everything else, and owns the job.
zjob_job_t *
zjob_job_alloc (const zjob_job_fixed_t *fixed);

//  Check len bytes at name as a name (1..ZJOB_NAME_MAX printable ASCII,
//  no space). Returns 0, or -1 with err naming field.
int
zjob_job_check_name (const char *field, const char *name, size_t len, zjob_error_t *err);

//  Refuse a repeated tag among count tags already checked one by one.
//  Returns 0, or -1 with err set.
int
zjob_job_check_tags_unique (const zjob_text_t *tags, size_t count, zjob_error_t *err);

//  Check size bytes at data as one encoded msgpack map (size 0 is the
//  empty map) of at most ZJOB_DATA_MAX bytes; on 0 *out borrows data.
//  Returns 0, or -1 with err naming field.
int
zjob_job_check_data (const char *field, const uint8_t *data, size_t size,
                     zjob_bytes_t *out, zjob_error_t *err);

//  Check the retry policy's fields of spec (PROTOCOL.md 9.2). Returns 0,
//  or -1 with err naming the field.
int
zjob_job_check_policy (const zjob_spec_t *spec, zjob_error_t *err);

//  zjob_job_extra.c: the extra block's part of the single allocation.
//  True if fixed sets any of its fields
bool
zjob_job_extra_wanted (const zjob_job_fixed_t *fixed);
//  Bytes the block, its parents array and its strings take (0 if not
//  wanted)
size_t
zjob_job_extra_size (const zjob_job_fixed_t *fixed);
//  Place the block at *cursor_p (which must be 8-aligned), then its
//  parents array and its strings; *cursor_p moves past them. NULL (and no
//  move) if not wanted.
zjob_extra_t *
zjob_job_extra_place (const zjob_job_fixed_t *fixed, char **cursor_p);
//  Check the spec's workflow fields into fixed (all of them set, unset
//  ones empty). Returns 0, or -1 with err naming the field.
int
zjob_job_check_extra (const zjob_spec_t *spec, zjob_job_fixed_t *fixed, zjob_error_t *err);
//  Fill fixed's extra fields from job's (all of them, empty if none)
void
zjob_job_extra_fixed (const zjob_job_t *job, zjob_job_fixed_t *fixed);
//  Check size bytes at data as a parent outputs map. Returns 0, or -1
//  with err naming the field.
int
zjob_job_check_parent_outputs (const uint8_t *data, size_t size, zjob_error_t *err);

//  A malloc'd copy of len bytes at text plus a NUL, or NULL; the caller's
char *
zjob_job_strndup (const char *text, size_t len);

//  A malloc'd copy of size bytes at data, or NULL; the caller's
uint8_t *
zjob_job_memdup (const uint8_t *data, size_t size);

#endif
