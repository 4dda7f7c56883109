/*  =========================================================================
    hello_client - submit a "hello" job, follow it, print its greeting

    Connects to the broker (failing within two seconds if it does not
    answer), subscribes to the job's events, submits one job, waits for it
    to finish, and prints the events it saw and the outputs. Run it with
    examples/hello_worker and a zjobd on the default endpoints. It uses
    only libzjob's installed headers: the job it reads back is opaque,
    seen through its accessors (zjob_job.h).

        cc hello_client.c $(pkg-config --cflags --libs libzjob) -o hello_client
        ./hello_client [name] [tcp://127.0.0.1:5570] [tcp://127.0.0.1:5572]
    ========================================================================= */

#include <stdio.h>
#include <string.h>
#include <msgpack.h>
#include <zjob_client.h>

int
main (int argc, char *argv [])
{
    const char *name = argc > 1 ? argv [1] : "world";
    const char *clients = argc > 2 ? argv [2] : "tcp://127.0.0.1:5570";
    const char *events_at = argc > 3 ? argv [3] : "tcp://127.0.0.1:5572";

    zjob_error_t err;
    zjob_client_t *client = zjob_client_new (clients, 2000, &err);
    if (!client) {
        fprintf (stderr, "hello_client: %s\n", err.text);
        return 1;
    }
    zjob_events_t *events = zjob_events_new (events_at, &err);
    if (events)
        zjob_events_subscribe (events, NULL, "hello", NULL, &err);

    //  Inputs are a msgpack map: {"name": name}
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "name", 4);
    msgpack_pack_str_with_body (&pk, name, strlen (name));

    zjob_spec_t spec = {
        .workflow_id = "hello",
        .inputs = (const uint8_t *) sbuf.data,
        .inputs_size = sbuf.size,
        .priority = ZJOB_PRIORITY_HIGH,
    };
    char id [ZJOB_ID_LEN + 1];
    int rc = zjob_client_submit (client, &spec, true, id, &err);
    msgpack_sbuffer_destroy (&sbuf);
    if (rc != 0) {
        fprintf (stderr, "hello_client: submit: %s (%d)\n", err.text, err.code);
        zjob_events_destroy (&events);
        zjob_client_destroy (&client);
        return 1;
    }
    printf ("submitted job %s\n", id);

    int status = zjob_client_wait (client, id, 30000, &err);
    if (status < 0)
        fprintf (stderr, "hello_client: wait: %s (%d)\n", err.text, err.code);
    else {
        printf ("job %s is %s\n", id, zjob_status_name ((zjob_status_t) status));
        zjob_reply_t *results = zjob_client_results (client, id, &err);
        if (results) {
            zjob_msg_t *msg = zjob_reply_msg (results);
            size_t size;
            const uint8_t *outputs = zjob_msg_bin (msg, "outputs", &size);
            if (outputs) {
                msgpack_unpacked out;
                msgpack_unpacked_init (&out);
                if (msgpack_unpack_next (&out, (const char *) outputs, size, NULL)
                    == MSGPACK_UNPACK_SUCCESS) {
                    printf ("outputs: ");
                    msgpack_object_print (stdout, out.data);
                    printf ("\n");
                }
                msgpack_unpacked_destroy (&out);
            }
            else {
                const char *kind = zjob_msg_str (msg, "error_kind");
                const char *message = zjob_msg_str (msg, "error_message");
                printf ("error: %s: %s\n", kind ? kind : "-", message ? message : "-");
            }
            zjob_reply_destroy (&results);
        }
        //  The job record: who ran it, how often, for how long
        zjob_job_t *job = zjob_client_get (client, id, &err);
        if (job) {
            const char *worker = zjob_job_worker (job);
            printf ("job %s: attempt %u on %s, ran %lld ms\n", zjob_job_id (job),
                    zjob_job_attempts (job), worker ? worker : "-",
                    (long long) zjob_job_execution_ms (job));
            zjob_job_destroy (&job);
        }
    }
    //  The events that had arrived meanwhile (subscriptions take effect
    //  after a moment, so the first ones may be missing)
    zjob_event_info_t event;
    while (events && zjob_events_recv (events, &event, 0, NULL) == 0)
        if (streq (event.id, id))
            printf ("event: %s (%.0f%%)\n", event.type, event.progress * 100);

    zjob_events_destroy (&events);
    zjob_client_destroy (&client);
    return status == ZJOB_COMPLETED ? 0 : 1;
}
