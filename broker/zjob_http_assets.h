/*  =========================================================================
    zjob_http_assets - the web dashboard's files, embedded in zjobd

    The dashboard (broker/dashboard/: HTML, JavaScript, CSS, an icon) is
    compiled into the binary: CMake turns each file into a byte array at
    build time (cmake/zjob_embed.cmake, nothing fetched), so zjobd serves
    it with no file to install and no CDN to reach. The table is
    generated (zjob_http_assets.c in the build tree); this header is its
    contract.
    ========================================================================= */

#ifndef ZJOB_HTTP_ASSETS_H_INCLUDED
#define ZJOB_HTTP_ASSETS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *path;          //  As requested: "/", "/app.js", "/app.css"...
    const char *content_type;  //  "text/html; charset=utf-8"...
    const uint8_t *data;
    size_t size;
} zjob_http_asset_t;

//  The asset served at path ("/" is index.html), or NULL if there is none
const zjob_http_asset_t *
zjob_http_asset_find (const char *path);

//  Every asset, for tests: *count_p receives their number
const zjob_http_asset_t *
zjob_http_assets (size_t *count_p);

#ifdef __cplusplus
}
#endif

#endif
