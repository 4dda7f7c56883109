/*  =========================================================================
    zjob_templates - named, stored sets of job settings (issue #11)

    A template is what a SUBMIT spec would say, kept under a name: a
    workflow, default inputs and metadata, priority, user, tags, the
    retry policy and timeouts. It is a record of kind "template" in the
    manager's store (zjob_store_record_*), so it is as durable as the jobs
    and written by the same sync; nothing of it is kept in memory beside
    the store's copy. A SUBMIT spec that names a template is merged with
    it before anything else (zjob_templates_apply, step 1 of
    zjob_manager_submit): what the spec sets wins; inputs and metadata
    are merged shallowly (the template's top-level keys, the spec's
    overriding theirs: zjob_msgpack_merge_maps); tags are the union, the
    template's first; and the job keeps the template's name (the job
    field "template", codec key "tpl"). A template is a default, not a
    link: changing or deleting it changes no job made from it.

    Record format: a msgpack map with short keys (unknown keys skipped on
    decode, as the job codec does): wf (str), in (bin, a map), pri (uint),
    user (str), tags ([str]), meta (bin, a map), maxa (uint, the spec's
    max_attempts), bo, bb, bf, bm, jit, nr (backoff, base ms, factor, max
    ms, jitter, no_retry kinds), tmo, hbt (timeouts, ms), cat, uat
    (created and updated, ms UTC). An absent key is "not set" (the
    default of the workflow or the broker when a job is made).
    ========================================================================= */

#ifndef ZJOB_TEMPLATES_H_INCLUDED
#define ZJOB_TEMPLATES_H_INCLUDED

#include "zjob_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_TEMPLATES_MAX 10000         //  templates a broker keeps at most
#define ZJOB_TEMPLATE_KIND "template"    //  their records' kind in the store
#define ZJOB_TEMPLATES_LIST_DEFAULT 100  //  templates a list returns by default

typedef struct _zjob_templates_t zjob_templates_t;

//  One template, decoded. Every string and byte of spec lives in zone,
//  which the template owns. Fields the template does not set are zero
//  (priority: ZJOB_PRIORITY_UNSET), as in a spec that leaves them out.
typedef struct {
    char name [ZJOB_NAME_MAX + 1];
    zjob_spec_t spec;    //  Never has an idempotency key, run_at or template
    int64_t created_at;  //  ms UTC of its first set
    int64_t updated_at;  //  ms UTC of its last set
    msgpack_zone *zone;  //  Owns what spec points to
} zjob_template_t;

//  The templates of store (borrowed: it must outlive them). NULL if out
//  of memory.
zjob_templates_t *
zjob_templates_new (zjob_store_t *store);

//  Destroy the handle (the templates stay in the store). Accepts NULL.
void
zjob_templates_destroy (zjob_templates_t **self_p);

//  Store spec as template name, replacing a template of that name whole.
//  spec must name a workflow and is checked as a job would be (its
//  fields, its sizes); it may not carry an idempotency key, a run_at, a
//  template, parents (or what to do when they fail), a batch, a unique
//  key or a schedule, which are a submit's own.
//  *created_p (if not NULL) is true for a new name. 0, or -1 with err
//  filled: ZJOB_BAD_REQUEST ("template: ..." for a bad field), or
//  ZJOB_TOO_LARGE for a new name past ZJOB_TEMPLATES_MAX.
int
zjob_templates_set (zjob_templates_t *self, const char *name, const zjob_spec_t *spec,
                    bool *created_p, zjob_error_t *err);

//  The template name, decoded (the caller destroys it), or NULL with err
//  filled: ZJOB_NOT_FOUND, ZJOB_BAD_REQUEST for a bad name, ZJOB_INTERNAL
//  for a record that does not decode.
zjob_template_t *
zjob_templates_get (zjob_templates_t *self, const char *name, zjob_error_t *err);

//  Remove template name. 0, or -1 with ZJOB_NOT_FOUND if absent.
int
zjob_templates_delete (zjob_templates_t *self, const char *name, zjob_error_t *err);

//  Number of templates stored.
size_t
zjob_templates_count (zjob_templates_t *self);

//  Called for each template of a list, which the visitor takes (it
//  destroys it); return 0 to go on.
typedef int (zjob_templates_fn) (zjob_template_t *template_, void *arg);

//  Visit the templates in name order from offset on, at most limit of
//  them (0: ZJOB_TEMPLATES_LIST_DEFAULT). A record that does not decode is
//  skipped with a warning. Returns the number of templates stored (the
//  total the page is part of).
size_t
zjob_templates_list (zjob_templates_t *self, size_t offset, size_t limit,
                     zjob_templates_fn *visit, void *arg);

//  Free a template. Accepts NULL; sets *self_p to NULL.
void
zjob_template_destroy (zjob_template_t **self_p);

//  What zjob_templates_apply made: the merged specs and everything they
//  point to
typedef struct _zjob_templates_applied_t zjob_templates_applied_t;

//  Merge each of count specs that names a template (template_name) with
//  it (see the banner). When no spec names one, *specs_out is specs and
//  *applied_p NULL: nothing is allocated. Else *specs_out is count specs
//  (the others copied as they are) owned by *applied_p, which the caller
//  destroys after it used them. 0, or -1 with err naming the spec
//  ("jobs[i]: template: ..."): ZJOB_NOT_FOUND for an unknown template,
//  ZJOB_BAD_REQUEST or ZJOB_TOO_LARGE for a merge that does not fit.
int
zjob_templates_apply (zjob_templates_t *self, const zjob_spec_t *specs, size_t count,
                      const zjob_spec_t **specs_out, zjob_templates_applied_t **applied_p,
                      zjob_error_t *err);

//  Free what apply made. Accepts NULL; sets *self_p to NULL.
void
zjob_templates_applied_destroy (zjob_templates_applied_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
