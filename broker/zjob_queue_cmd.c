/*  =========================================================================
    zjob_queue_cmd - the QUEUE command: per-workflow queue controls

    list gathers the workflows with stored jobs (the manager's tally) and
    those with settings (zjob_queues), once each, into an array sorted by
    name: O(workflows log workflows) on request, nothing kept. What holds
    a workflow back is asked of the queue controls only when it has ready
    jobs, so "held_by" says what a worker with credit would meet now.
    ========================================================================= */

#include <stdlib.h>
#include <string.h>
#include "zjob_queue_cmd.h"
#include "zjob_queues.h"

//  The workflows list collects
typedef struct {
    zjob_manager_t *manager;
    zjob_queue_info_t *items;
    size_t count;
    size_t max;
    zhashx_t *seen;  //  workflow -> index + 1 in items
} s_list_t;

//  The queue of workflow, filled from the manager; NULL if there is no
//  room (cannot be: max counts every workflow)
static zjob_queue_info_t *
s_item (s_list_t *list, const char *workflow)
{
    size_t at = (size_t) (uintptr_t) zhashx_lookup (list->seen, workflow);
    if (at)
        return &list->items [at - 1];
    if (list->count == list->max)
        return NULL;
    zjob_queue_info_t *item = &list->items [list->count++];
    memset (item, 0, sizeof (*item));
    item->workflow_id = workflow;
    zhashx_insert (list->seen, workflow, (void *) (uintptr_t) list->count);
    return item;
}

static void
s_add_counts (const char *workflow, const size_t counts [ZJOB_STATUS_COUNT], void *arg)
{
    zjob_queue_info_t *item = s_item ((s_list_t *) arg, workflow);
    if (item) {
        item->queued = counts [ZJOB_QUEUED];
        item->running = counts [ZJOB_RUNNING];
    }
}

static void
s_add_settings (const char *workflow, const zjob_queue_settings_t *settings, void *arg)
{
    zjob_queue_info_t *item = s_item ((s_list_t *) arg, workflow);
    if (item) {
        item->paused = settings->paused;
        item->concurrency = settings->concurrency;
        item->rate = settings->rate;
        item->burst = settings->burst;
    }
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (((const zjob_queue_info_t *) a)->workflow_id,
                   ((const zjob_queue_info_t *) b)->workflow_id);
}

//  The OK with every workflow's queue (workflow NULL), or workflow's
static int
s_reply (zjob_manager_t *manager, const char *workflow, zjob_msg_builder_t *builder,
         uint64_t request_id, zjob_error_t *err)
{
    zjob_queues_t *queues = zjob_manager_queues (manager);
    size_t max = workflow ? 1 : zjob_manager_workflows (manager) + zjob_queues_size (queues);
    s_list_t list = { manager, NULL, 0, max, zjob_hashx_new () };
    list.items = (zjob_queue_info_t *) calloc (max ? max : 1, sizeof (zjob_queue_info_t));
    if (!list.items || !list.seen) {
        free (list.items);
        zhashx_destroy (&list.seen);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    if (workflow) {
        zjob_queue_info_t *item = s_item (&list, workflow);
        zjob_queue_settings_t settings;
        if (zjob_queues_get (queues, workflow, &settings))
            s_add_settings (workflow, &settings, &list);
        item->queued = zjob_manager_workflow_count (manager, workflow, ZJOB_QUEUED);
        item->running = zjob_manager_workflow_count (manager, workflow, ZJOB_RUNNING);
    }
    else {
        zjob_manager_workflow_counts (manager, s_add_counts, &list);
        zjob_queues_each (queues, s_add_settings, &list);
        qsort (list.items, list.count, sizeof (zjob_queue_info_t), s_by_name);
    }
    for (size_t index = 0; index < list.count; index++)
        list.items [index].held_by
            = zjob_held_name (zjob_manager_held_back (manager, list.items [index].workflow_id));
    zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
    zjob_msg_add_queues (builder, list.items, list.count);
    free (list.items);
    zhashx_destroy (&list.seen);
    return 0;
}

int
zjob_queue_cmd_handle (zjob_manager_t *manager, zjob_publisher_t *publisher, zjob_msg_t *msg,
                       zjob_msg_builder_t *builder, uint64_t request_id, zjob_error_t *err)
{
    assert (manager && msg && builder);
    zjob_queues_t *queues = zjob_manager_queues (manager);
    const char *op = zjob_msg_str (msg, "op");
    const char *workflow = zjob_msg_str (msg, "workflow_id");
    if (op && streq (op, "list"))
        return s_reply (manager, NULL, builder, request_id, err);
    bool pause = op && streq (op, "pause");
    bool resume = op && streq (op, "resume");
    bool limit = op && streq (op, "limit");
    if (!pause && !resume && !limit)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "op: pause, resume, limit or list, not '%s'",
                               op ? op : "");
    if (!workflow)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "workflow_id: required for %s", op);
    int rc;
    if (limit) {
        bool any = zjob_msg_has (msg, "concurrency") || zjob_msg_has (msg, "rate")
            || zjob_msg_has (msg, "burst");
        if (!any)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "limit: concurrency, rate or burst required");
        uint64_t concurrency = zjob_msg_uint (msg, "concurrency", UINT64_MAX);
        rc = zjob_queues_limit (queues, workflow,
                                concurrency > INT64_MAX ? -1 : (int64_t) concurrency,
                                zjob_msg_float (msg, "rate", -1), zjob_msg_float (msg, "burst", -1),
                                err);
    }
    else {
        zjob_queue_settings_t before;
        zjob_queues_get (queues, workflow, &before);
        rc = zjob_queues_pause (queues, workflow, pause, err);
        if (rc >= 0 && before.paused != pause && publisher)
            zjob_publisher_queue (publisher, pause ? "queue_paused" : "queue_resumed", workflow);
    }
    if (rc < 0)
        return -1;
    if (s_reply (manager, workflow, builder, request_id, err))
        return -1;
    return 1;
}

size_t
zjob_queue_cmd_held (zjob_manager_t *manager, const char **workflows, const char **reasons,
                     size_t max)
{
    assert (manager);
    s_list_t list = { manager, NULL, 0, 0, NULL };
    zjob_queues_t *queues = zjob_manager_queues (manager);
    size_t count = zjob_queues_size (queues);
    if (!count || !max)
        return 0;
    list.items = (zjob_queue_info_t *) calloc (count, sizeof (zjob_queue_info_t));
    list.max = count;
    list.seen = zjob_hashx_new ();
    size_t held = 0;
    if (list.items && list.seen) {
        zjob_queues_each (queues, s_add_settings, &list);
        for (size_t index = 0; index < list.count && held < max; index++) {
            const char *reason
                = zjob_held_name (zjob_manager_held_back (manager, list.items [index].workflow_id));
            if (reason) {
                workflows [held] = list.items [index].workflow_id;
                reasons [held++] = reason;
            }
        }
    }
    free (list.items);
    zhashx_destroy (&list.seen);
    return held;
}
