/*  =========================================================================
    fuzz_job - libFuzzer harness: a job map, as the journal and a reply hold it

    The bytes are one encoded job (zjob_job_pack's map), as a journal
    record's PUT or a GET reply's "job" carries it. A job that decodes must
    encode again, and its encoding must decode to a job that encodes to
    the same bytes (the codec is a fixed point after one trip: what the
    broker writes back is what it read); it is also printed as the CLI
    prints a job (zjob_job_to_json).
    ========================================================================= */

#include "zjob_job_impl.h"
#include "zjob_json.h"
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_quiet ();
    zjob_error_t err;
    zjob_job_t *job = zjob_job_decode (data, size, &err);
    if (!job)
        return 0;
    uint8_t *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    if (zjob_job_encode (job, &first, &first_size))
        abort ();
    zjob_job_t *again = zjob_job_decode (first, first_size, &err);
    if (!again)
        abort ();  //  What the codec wrote, it cannot read
    if (zjob_job_encode (again, &second, &second_size))
        abort ();
    if (first_size != second_size || memcmp (first, second, first_size))
        abort ();  //  Not the same job after a trip
    json_t *json = zjob_job_to_json (job);
    char *text = json ? zjob_json_dumps (json, ZJOB_JSON_COMPACT) : NULL;
    free (text);
    json_decref (json);
    free (first);
    free (second);
    zjob_job_destroy (&again);
    zjob_job_destroy (&job);
    return 0;
}
