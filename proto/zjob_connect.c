/*  =========================================================================
    zjob_connect - CURVE options of a client, worker or subscriber socket

    See the header. Certificates are CZMQ's (zcert: ZPL text with a
    "curve" section and an optional "metadata" one), the format the
    broker's key lists and `zjob keygen` use.
    ========================================================================= */

#include <errno.h>
#include <string.h>
#include "zjob_connect.h"
#include "zjob_util.h"

#define S_Z85_KEY 40  //  chars in a Z85 CURVE key

bool
zjob_connect_secure (const zjob_connect_opts_t *opts)
{
    return opts && opts->cert && *opts->cert;
}

//  Load the certificate at path, which must hold its secret key
static zcert_t *
s_load_own (const char *path, zjob_error_t *err)
{
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "cannot read the certificate %s", path);
        return NULL;
    }
    //  A public certificate loads with a secret key of zeros
    static const byte s_zero [32] = { 0 };
    if (memcmp (zcert_secret_key (cert), s_zero, sizeof (s_zero)) == 0) {
        zcert_destroy (&cert);
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "the certificate %s holds no secret key: give the NAME.key_secret "
                        "file zjob keygen wrote",
                        path);
        return NULL;
    }
    return cert;
}

//  The broker's public key from text (40 Z85 chars or a certificate's
//  path) into key (41 bytes). 0, or -1 with err filled.
static int
s_broker_key (const char *text, char *key, zjob_error_t *err)
{
    if (!text || !*text)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "a certificate was given but no broker key: give the broker's "
                               "public key (--broker-key KEY|FILE, ZJOB_BROKER_KEY)");
    byte binary [32];
    if (strlen (text) == S_Z85_KEY && zmq_z85_decode (binary, text)) {
        memcpy (key, text, S_Z85_KEY + 1);
        return 0;
    }
    zcert_t *cert = zcert_load (text);
    if (!cert)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "the broker key '%.80s' is neither 40 Z85 characters nor a "
                               "readable certificate file",
                               text);
    memcpy (key, zcert_public_txt (cert), S_Z85_KEY + 1);
    zcert_destroy (&cert);
    return 0;
}

int
zjob_connect_apply (zsock_t *sock, const zjob_connect_opts_t *opts, zjob_error_t *err)
{
    if (!zjob_connect_secure (opts))
        return 0;
    char key [S_Z85_KEY + 1];
    if (s_broker_key (opts->broker_key, key, err))
        return -1;
    zcert_t *cert = s_load_own (opts->cert, err);
    if (!cert)
        return -1;
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, key);
    zcert_destroy (&cert);
    return 0;
}


//  --------------------------------------------------------------------------
//  Endpoint lists

//  The next item of list from *cursor into item (size bytes); false at
//  the end. An item too long for item is cut (then refused as unusable).
static bool
s_next_item (const char **cursor, char *item, size_t size)
{
    const char *start = *cursor;
    if (!start)
        return false;
    const char *comma = strchr (start, ',');
    size_t length = comma ? (size_t) (comma - start) : strlen (start);
    snprintf (item, size, "%.*s", (int) (length < size ? length : size - 1), start);
    *cursor = comma ? comma + 1 : NULL;
    return true;
}

int
zjob_connect_check (const char *list, size_t *count_p, zjob_error_t *err)
{
    if (!list || !*list)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "no endpoint given");
    if (!strchr (list, ','))
        return count_p ? (*count_p = 1, zjob_endpoint_check (list, err))
                       : zjob_endpoint_check (list, err);
    size_t count = 0;
    char item [ZJOB_CONNECT_ENDPOINT_MAX];
    const char *cursor = list;
    while (s_next_item (&cursor, item, sizeof item)) {
        if (++count > ZJOB_CONNECT_ENDPOINTS_MAX)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "too many endpoints in \"%.80s...\": %d at most",
                                   list, ZJOB_CONNECT_ENDPOINTS_MAX);
        if (!*item)
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "bad endpoint list \"%.200s\": item %zu is empty", list,
                                   count);
        if (zjob_endpoint_check (item, err))
            return -1;
    }
    if (count_p)
        *count_p = count;
    return 0;
}

void
zjob_connect_disconnect (zsock_t *sock, const char *list)
{
    char item [ZJOB_CONNECT_ENDPOINT_MAX];
    const char *cursor = list;
    while (s_next_item (&cursor, item, sizeof item))
        if (*item)
            zsock_disconnect (sock, "%s", item);
}

int
zjob_connect_endpoints (zsock_t *sock, const char *list, zjob_error_t *err)
{
    size_t count;
    if (zjob_connect_check (list, &count, err))
        return -1;
    if (count > 1) {
        //  Messages only over connections that completed their handshake:
        //  a standby broker binds nothing, so nothing waits for it; and a
        //  broker that stops answering (SIGSTOP) loses its connection to
        //  the ZMTP heartbeats, so nothing goes to it either
        zsock_set_immediate (sock, 1);
        zsock_set_heartbeat_ivl (sock, ZJOB_CONNECT_HEARTBEAT_IVL_MS);
        zsock_set_heartbeat_timeout (sock, ZJOB_CONNECT_HEARTBEAT_TIMEOUT_MS);
    }
    char item [ZJOB_CONNECT_ENDPOINT_MAX];
    const char *cursor = list;
    size_t connected = 0;
    while (s_next_item (&cursor, item, sizeof item)) {
        if (zsock_connect (sock, "%s", item) != 0) {
            zjob_error_set (err, ZJOB_BAD_REQUEST, "cannot connect to \"%s\": %s", item,
                            zmq_strerror (zmq_errno ()));
            //  Undo the connections made before this one
            cursor = list;
            while (connected-- > 0 && s_next_item (&cursor, item, sizeof item))
                zsock_disconnect (sock, "%s", item);
            return -1;
        }
        connected++;
    }
    return 0;
}

bool
zjob_connect_is_list (const char *list)
{
    return list && strchr (list, ',') != NULL;
}

bool
zjob_connect_writable (zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (sock), 0, ZMQ_POLLOUT, 0 };
    int64_t deadline = zjob_mono_ms () + timeout_ms;
    while (true) {
        int64_t left = deadline - zjob_mono_ms ();
        int rc = zmq_poll (&item, 1, left > 0 ? left : 0);
        if (rc > 0 && (item.revents & ZMQ_POLLOUT))
            return true;
        if ((rc < 0 && zmq_errno () != EINTR) || left <= 0 || zsys_interrupted)
            return false;
    }
}
