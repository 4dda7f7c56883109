/*  =========================================================================
    hello_worker - a zjob worker that greets: the simplest use of libzjob

    Serves the "hello" workflow with two slots: for a job with inputs
    {"name": "Ada"} it reports progress once and returns {"greeting":
    "Hello, Ada!"}. zjob_worker_run calls the handler on a pool of one
    thread per slot and keeps the worker registered, heartbeating and
    reconnecting; Ctrl-C stops it cleanly (jobs it did not finish go back
    to the broker's queue).

        cc hello_worker.c $(pkg-config --cflags --libs libzjob) -o hello_worker
        ./hello_worker [tcp://127.0.0.1:5571]
    ========================================================================= */

#include <stdio.h>
#include <string.h>
#include <msgpack.h>
#include <zjob_worker.h>

//  Copy the str value of key in the msgpack map data into buf ("" if none)
static void
s_input_str (const uint8_t *data, size_t size, const char *key, char *buf, size_t buf_size)
{
    snprintf (buf, buf_size, "%s", "");
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    if (msgpack_unpack_next (&result, (const char *) data, size, NULL) == MSGPACK_UNPACK_SUCCESS
        && result.data.type == MSGPACK_OBJECT_MAP) {
        msgpack_object_map *map = &result.data.via.map;
        for (uint32_t i = 0; i < map->size; i++) {
            msgpack_object *k = &map->ptr [i].key, *v = &map->ptr [i].val;
            if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen (key)
                && memcmp (k->via.str.ptr, key, k->via.str.size) == 0
                && v->type == MSGPACK_OBJECT_STR)
                snprintf (buf, buf_size, "%.*s", (int) v->via.str.size, v->via.str.ptr);
        }
    }
    msgpack_unpacked_destroy (&result);
}

static uint8_t *
s_hello (zjob_task_t *task, size_t *size_p, void *arg)
{
    (void) arg;
    size_t size;
    const uint8_t *inputs = zjob_task_inputs (task, &size);
    char name [64];
    s_input_str (inputs, size, "name", name, sizeof (name));
    if (!*name) {
        zjob_task_fail (task, ZJOB_KIND_BAD_INPUT, "inputs need a \"name\" string");
        return NULL;
    }
    zjob_task_progress (task, 0.5, "composing");
    if (zjob_task_checkpoint (task) != 0)
        return NULL;  //  Cancelled, or the worker is stopping

    char greeting [96];
    snprintf (greeting, sizeof (greeting), "Hello, %s!", name);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "greeting", 8);
    msgpack_pack_str_with_body (&pk, greeting, strlen (greeting));
    *size_p = sbuf.size;
    return (uint8_t *) sbuf.data;  //  The library frees it
}

int
main (int argc, char *argv [])
{
    const char *endpoint = argc > 1 ? argv [1] : "tcp://127.0.0.1:5571";
    const char *workflows [] = { "hello" };
    zjob_error_t err;
    zjob_worker_t *worker = zjob_worker_new (endpoint, "hello-worker", workflows, 1, 2, &err);
    if (!worker) {
        fprintf (stderr, "hello_worker: %s\n", err.text);
        return 1;
    }
    printf ("hello_worker: serving \"hello\" from %s, Ctrl-C to stop\n", endpoint);
    int rc = zjob_worker_run (worker, s_hello, NULL, &err);
    if (rc != 0)
        fprintf (stderr, "hello_worker: %s\n", err.text);
    zjob_worker_destroy (&worker);
    return rc == 0 ? 0 : 1;
}
