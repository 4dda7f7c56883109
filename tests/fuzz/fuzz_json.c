/*  =========================================================================
    fuzz_json - libFuzzer harness: JSON in, msgpack out, and back

    The bytes are read two ways, as the CLI and libzjob meet them: as JSON
    text (a user's --inputs, any top-level value) converted to msgpack,
    and as msgpack (a worker's outputs, a job's inputs) converted to JSON.
    JSON that converts must come back from its msgpack as JSON that
    converts to the very same msgpack bytes (zjob_json.h: a document
    survives the trip unchanged).
    ========================================================================= */

#include "zjob_json.h"
#include "fuzz_common.h"

//  JSON text -> msgpack -> JSON -> msgpack: the two msgpacks are equal
static void
s_from_json (const char *text)
{
    zjob_error_t err;
    uint8_t *first = NULL;
    size_t first_size = 0;
    if (zjob_json_any_to_msgpack (text, &first, &first_size, &err))
        return;
    char *json = zjob_msgpack_to_json (first, first_size, ZJOB_JSON_COMPACT, &err);
    if (!json)
        abort ();  //  What JSON made, JSON cannot print
    uint8_t *second = NULL;
    size_t second_size = 0;
    if (zjob_json_any_to_msgpack (json, &second, &second_size, &err))
        abort ();  //  What it printed, it cannot read
    if (first_size != second_size || memcmp (first, second, first_size))
        abort ();  //  Not the same document after the trip
    free (second);
    free (json);
    free (first);
    //  The object-only entry point too
    if (zjob_json_to_msgpack (text, &first, &first_size, &err) == 0)
        free (first);
}

//  msgpack bytes -> JSON, in each print mode
static void
s_from_msgpack (const uint8_t *data, size_t size)
{
    static const int flags [] = { ZJOB_JSON_COMPACT, ZJOB_JSON_PRETTY | ZJOB_JSON_ASCII };
    for (size_t index = 0; index < 2; index++) {
        zjob_error_t err;
        char *json = zjob_msgpack_to_json (data, size, flags [index], &err);
        free (json);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_quiet ();
    char *text = fuzz_text (data, size);
    s_from_json (text);
    s_from_msgpack (data, size);
    free (text);
    return 0;
}
