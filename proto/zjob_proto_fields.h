/*  =========================================================================
    zjob_proto_fields - the field tables' types, for the codec's own files

    zjob_proto_fields.c holds the tables (the protocol: one per command body
    and per OK reply) and the list of schemas; zjob_proto_schema.c checks a
    body against them and builds the structures the broker gets. The field
    indexes below are shared by the two: a table is written with them, and
    a post function reads the checked values by them. Nothing outside
    proto/ includes this header.
    ========================================================================= */

#ifndef ZJOB_PROTO_FIELDS_H_INCLUDED
#define ZJOB_PROTO_FIELDS_H_INCLUDED

#include "zjob_proto_impl.h"

typedef enum {
    F_STR,       //  str of min..max bytes
    F_NAME,      //  str that is a name (zjob_name_valid)
    F_ID,        //  str that is a job id
    F_STATUS,    //  str, a status name
    F_PRIORITY,  //  str, a priority name
    F_SORT,      //  str, a sort name
    F_ORDER,     //  str, "asc" or "desc"
    F_UINT,      //  unsigned integer in min..max
    F_PROGRESS,  //  number (float or integer) in 0..1
    F_BOOL,      //  boolean
    F_BIN,       //  bin of at most max bytes
    F_MAP,       //  any map
    F_MAPS,      //  array of at most max maps
    F_NAMES,     //  array of min..max names
    F_IDS,       //  array of min..max job ids
    F_UINTS,     //  array of at most max unsigned integers
    F_STATUSES,  //  array of status names
    F_FILTER,    //  filter map (s_filter_fields)
    F_SPECS,     //  array of min..max spec maps (s_spec_fields)
    F_ITEMS,     //  array of min..max maps, each checked against
                 //  the field's items table
    F_NUMBER,    //  number (float or integer) in min..max
    F_PARENTS    //  array of at most max items, each a job id (str) or a
                 //  position (uint < ZJOB_BATCH_MAX) in the same SUBMIT
} zjob_ftype_t;

struct _zjob_ftable_t;

typedef struct {
    const char *key;  //  Wire key
    zjob_ftype_t type;
    bool required;                       //  Must be present and not nil
    uint64_t min;                        //  F_STR length, F_UINT value, array count
    uint64_t max;                        //  Same; 0 = no bound for arrays, F_STR, F_BIN
    const struct _zjob_ftable_t *items;  //  F_ITEMS: the table of each item, else NULL
} zjob_field_t;

typedef struct _zjob_ftable_t {
    const zjob_field_t *fields;
    size_t count;
} zjob_ftable_t;

#define TABLE(fields)                                 \
    {                                                 \
        fields, sizeof (fields) / sizeof (fields [0]) \
    }
#define NO_TABLE \
    {            \
        NULL, 0  \
    }
#define FIELDS_MAX 32  //  Fields in the largest table
#define REQ true
#define OPT false
#define TEXT_MAX ZJOB_MESSAGE_MAX
#define TIME_MAX ((uint64_t) INT64_MAX)

//  Field indexes of the tables whose values are read by position
//  A job spec in SUBMIT; indexes are used to build zjob_spec_t
enum { SP_WORKFLOW,
       SP_INPUTS,
       SP_PRIORITY,
       SP_USER,
       SP_TAGS,
       SP_METADATA,
       SP_IDEM,
       SP_MAXA,
       SP_RUNAT,
       SP_BACKOFF,
       SP_BASE,
       SP_FACTOR,
       SP_MAX,
       SP_JITTER,
       SP_NORETRY,
       SP_TIMEOUT,
       SP_HEARTBEAT,
       SP_DEPENDS,
       SP_ONPARENT,
       SP_BATCH,
       SP_TEMPLATE,
       SP_UNIQUE };
//  A filter, in LIST and in bulk operations
enum { FI_STATUS,
       FI_WORKFLOW,
       FI_USER,
       FI_TAGS,
       FI_AFTER,
       FI_BEFORE,
       FI_SCHEDULED,
       FI_BATCH,
       FI_WAITING_ON,
       FI_SCHEDULE };
//  Request and notification bodies
enum { SU_JOBS,
       SU_AUTO,
       SU_BATCH };
enum { LI_FILTER,
       LI_SORT,
       LI_ORDER,
       LI_LIMIT,
       LI_OFFSET };
enum { TA_ID,
       TA_IDS,
       TA_FILTER };
//  RETRY: a target and its options (read with zjob_msg_bool); RUN_NOW's
//  table is the first four (no reset_attempts)
enum { RR_DRY = TA_FILTER + 1,
       RR_RESET };
enum { JO_JOB,
       JO_JOBS };
//  One result: the body of a single RESULT, and each item of "results"
//  (the item table is the first five fields)
enum { RE_ID,
       RE_STATUS,
       RE_OUTPUTS,
       RE_KIND,
       RE_MESSAGE,
       RE_ATTEMPT,
       RE_PERMANENT,
       RE_CREDIT,
       RE_RESULTS };
//  A result a multi-result RESULT's OK refuses
enum { RX_ID,
       RX_CODE,
       RX_MESSAGE };

//  The tables a check reaches from a field (zjob_proto_fields.c)
extern const zjob_ftable_t zjob_spec_table;
extern const zjob_ftable_t zjob_filter_table;
extern const zjob_ftable_t zjob_result_item_table;
extern const zjob_ftable_t zjob_result_error_table;

//  Builds structures from a checked body's values (zjob_proto_schema.c)
typedef int (zjob_post_fn) (zjob_proto_ctx_t *ctx, const msgpack_object **values);
zjob_post_fn zjob_post_submit, zjob_post_list, zjob_post_target, zjob_post_worker_target,
    zjob_post_result, zjob_post_job;

//  One command on one route: its body, its OK reply's body, and the
//  function that builds structures from a checked body
typedef struct {
    zjob_cmd_t cmd;
    zjob_route_t route;
    zjob_ftable_t body;
    zjob_ftable_t reply;
    zjob_post_fn *post;
} zjob_schema_t;

//  The schema of cmd on route; NULL for OK (its body depends on the request)
const zjob_schema_t *
zjob_schema_find (zjob_cmd_t cmd, zjob_route_t route);

#endif
