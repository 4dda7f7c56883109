/*  =========================================================================
    zjob_connect - CURVE options of a client, worker or subscriber socket

    See the header. Certificates are CZMQ's (zcert: ZPL text with a
    "curve" section and an optional "metadata" one), the format the
    broker's key lists and `zjob keygen` use.
    ========================================================================= */

#include <string.h>
#include "zjob_connect.h"

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
