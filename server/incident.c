/* SPDX-License-Identifier: MIT */
/*
 * incident.c - the incident report's builder (incident.h): measurements counted per network of
 * one input, then the report of one network as JSON. The HTML is incident_html.c's.
 */
#include "incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certgroup.h"
#include "meas/record_incident.h"
#include "meas/record_read.h"
#include "util/mem.h"
#include "util/stats.h"
#include "util/timefmt.h"

#define VG__INC_BUCKETS_MAX 400 /* timeline bars at most */

/* One measurement on the timeline. */
struct vg__inc_pt {
    int64_t t;
    enum vg_verdict v;
};

/* What one network showed. */
struct vg__inc_net {
    char cc[3];
    uint32_t asn;
    char name[128];
    unsigned n[VG_VERDICT_COUNT], total;
    int64_t first, last, first_intf, last_intf; /* -1: none */
    enum vg_verdict latest;
    char latest_cause[VG_REC_NAME_MAX + 1];
    struct vg__inc_pt *pts;
    size_t cap_pts;
    struct vg_certgroup *certs;
    json_t *addrs;   /* address -> {"verdicts": {V: n}, "measurements": n} */
    json_t *causes;  /* cause -> n */
    json_t *samples; /* [SAMPLE] */
    unsigned n_samples_intf, n_samples_ok;
    bool has_endpoints; /* some measurement had x_endpoints */
};

struct vg_incident {
    char *input, *base_url, *source;
    char cc[3];
    bool has_asn;
    uint32_t asn;
    int64_t since, until;
    struct vg__inc_net *nets;
    size_t n_nets;
    unsigned counted;
    bool truncated;
    json_t *locs; /* [LOCATION], each with its network */
};

struct vg_incident *
vg_incident_new(const struct vg_incident_opts *o)
{
    struct vg_incident *inc = vg_xcalloc(1, sizeof(*inc));

    inc->input = vg_xstrdup(o->input != NULL ? o->input : "");
    inc->base_url = o->base_url != NULL ? vg_xstrdup(o->base_url) : NULL;
    inc->source = vg_xstrdup(o->source != NULL ? o->source : "files");
    if (o->probe_cc != NULL) {
        snprintf(inc->cc, sizeof(inc->cc), "%s", o->probe_cc);
    }
    inc->has_asn = o->has_probe_asn;
    inc->asn = o->probe_asn;
    inc->since = o->since;
    inc->until = o->until;
    inc->locs = json_array();
    return inc;
}

void
vg_incident_reset(struct vg_incident *inc)
{
    for (size_t i = 0; i < inc->n_nets; i++) {
        struct vg__inc_net *n = &inc->nets[i];

        free(n->pts);
        vg_certgroup_free(n->certs);
        json_decref(n->addrs);
        json_decref(n->causes);
        json_decref(n->samples);
    }
    VG_FREE(inc->nets);
    inc->n_nets = 0;
    inc->counted = 0;
    inc->truncated = false;
    json_array_clear(inc->locs);
}

void
vg_incident_mark_truncated(struct vg_incident *inc)
{
    inc->truncated = true;
}

void
vg_incident_free(struct vg_incident *inc)
{
    if (inc == NULL) {
        return;
    }
    vg_incident_reset(inc);
    json_decref(inc->locs);
    free(inc->input);
    free(inc->base_url);
    free(inc->source);
    free(inc);
}

static json_t *
vg__inc_jtime(int64_t t)
{
    char b[VG_TIME_TEXT_MAX];

    if (t < 0) {
        return json_null();
    }
    vg_time_format(t, VG_TIME_ISO8601, b, sizeof(b));
    return json_string(b);
}

static json_t *
vg__inc_jasn(uint32_t asn)
{
    char b[16];

    snprintf(b, sizeof(b), "AS%u", (unsigned)asn);
    return json_string(b);
}

static bool
vg__inc_intf(enum vg_verdict v)
{
    return v == VG_VERDICT_BLOCKED || v == VG_VERDICT_INTERCEPTED;
}

static struct vg__inc_net *
vg__inc_net(struct vg_incident *inc, const struct vg_rec_summary *s)
{
    struct vg__inc_net *n;

    for (size_t i = 0; i < inc->n_nets; i++) {
        if (inc->nets[i].asn == s->probe_asn && strcmp(inc->nets[i].cc, s->probe_cc) == 0) {
            return &inc->nets[i];
        }
    }
    if (inc->n_nets == VG_INCIDENT_NETS_MAX) {
        return NULL;
    }
    if ((inc->n_nets & (inc->n_nets - 1)) == 0) { /* 0, 1, 2, 4...: grow to the double */
        inc->nets =
            vg_xreallocarray(inc->nets, inc->n_nets == 0 ? 1 : inc->n_nets * 2, sizeof(*inc->nets));
    }
    n = &inc->nets[inc->n_nets++];
    memset(n, 0, sizeof(*n));
    snprintf(n->cc, sizeof(n->cc), "%s", s->probe_cc);
    n->asn = s->probe_asn;
    n->first = n->last = n->first_intf = n->last_intf = -1;
    n->certs = vg_certgroup_new(VG_INCIDENT_CHAINS_MAX);
    n->addrs = json_object();
    n->causes = json_object();
    n->samples = json_array();
    return n;
}

static void
vg__inc_count(json_t *o, const char *key, json_int_t by)
{
    json_t *v = json_object_get(o, key);

    json_object_set_new(o, key, json_integer((v != NULL ? json_integer_value(v) : 0) + by));
}

static void
vg__inc_address(struct vg__inc_net *n, const char *addr, enum vg_verdict v)
{
    json_t *a = json_object_get(n->addrs, addr);

    if (a == NULL) {
        if (json_object_size(n->addrs) >= VG_INCIDENT_ADDRS_MAX * 4) {
            return;
        }
        a = json_pack("{s:i, s:{}}", "measurements", 0, "verdicts");
        json_object_set_new(n->addrs, addr, a);
    }
    vg__inc_count(a, "measurements", 1);
    vg__inc_count(json_object_get(a, "verdicts"), vg_verdict_name(v), 1);
}

/* Keep m's text as a sample when the network wants one more of its kind. */
static void
vg__inc_sample(struct vg_incident *inc, struct vg__inc_net *n, json_t *m, enum vg_verdict v,
               const char *cause, const char *uid, int64_t t)
{
    bool intf = vg__inc_intf(v);
    char *text;
    json_t *s;
    size_t len;

    if (intf ? n->n_samples_intf >= VG_INCIDENT_SAMPLES_INTF
             : (v != VG_VERDICT_ACCESSIBLE || n->n_samples_ok >= VG_INCIDENT_SAMPLES_OK)) {
        return;
    }
    *(intf ? &n->n_samples_intf : &n->n_samples_ok) += 1;
    text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    len = text != NULL ? strlen(text) : 0;
    s = json_pack("{s:o, s:o, s:s, s:o, s:o, s:s%, s:b}", "measurement_uid",
                  uid != NULL && uid[0] != '\0' ? json_string(uid) : json_null(),
                  VG_REC_KEY_MEASUREMENT_START_TIME, vg__inc_jtime(t), VG_REC_KEY_X_VERDICT,
                  vg_verdict_name(v), VG_REC_KEY_X_CAUSE,
                  cause != NULL && cause[0] != '\0' ? json_string(cause) : json_null(), "link",
                  inc->base_url != NULL && uid != NULL && uid[0] != '\0'
                      ? json_sprintf("%s/api/v1/measurement/%s", inc->base_url, uid)
                      : json_null(),
                  "raw", text != NULL ? text : "",
                  len > VG_INCIDENT_SAMPLE_BYTES ? (size_t)VG_INCIDENT_SAMPLE_BYTES : len,
                  "raw_truncated", len > VG_INCIDENT_SAMPLE_BYTES);
    free(text);
    if (s != NULL) {
        json_array_append_new(n->samples, s);
    }
}

static void
vg__inc_locate(struct vg_incident *inc, const struct vg_rec_summary *s,
               const struct vg_rec_inc_loc *l)
{
    if (json_array_size(inc->locs) >= VG_INCIDENT_LOCATE_MAX * 4) {
        return;
    }
    json_array_append_new(
        inc->locs,
        json_pack(
            "{s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", VG_REC_KEY_PROBE_CC,
            s->probe_cc, VG_REC_KEY_PROBE_ASN, vg__inc_jasn(s->probe_asn),
            VG_REC_KEY_MEASUREMENT_START_TIME, vg__inc_jtime(s->start_time), "cause", l->cause,
            "method", l->method, "target", l->target, "interference_hop",
            l->interference_hop >= 0 ? json_integer(l->interference_hop) : json_null(),
            "interference_router",
            l->interference_router[0] != '\0' ? json_string(l->interference_router) : json_null(),
            "server_hop", l->server_hop >= 0 ? json_integer(l->server_hop) : json_null(), "summary",
            l->summary, "failure", l->failure[0] != '\0' ? json_string(l->failure) : json_null()));
}

/* The counts of one measurement of network n. */
static void
vg__inc_tally(struct vg_incident *inc, struct vg__inc_net *n, json_t *m,
              const struct vg_rec_incident *ri, enum vg_verdict v, const char *cause,
              const char *uid, int64_t t)
{
    if (n->cap_pts == n->total) {
        n->cap_pts = n->cap_pts == 0 ? 64 : n->cap_pts * 2;
        n->pts = vg_xreallocarray(n->pts, n->cap_pts, sizeof(*n->pts));
    }
    n->pts[n->total].t = t;
    n->pts[n->total].v = v;
    n->total++;
    n->n[v]++;
    if (n->first < 0 || t < n->first) {
        n->first = t;
    }
    /* the latest; at the same second, whatever the order read: the most serious verdict, then
     * the first cause by name */
    if (t > n->last ||
        (t == n->last && (v < n->latest || (v == n->latest && strcmp(cause != NULL ? cause : "",
                                                                     n->latest_cause) < 0)))) {
        n->last = t;
        n->latest = v;
        snprintf(n->latest_cause, sizeof(n->latest_cause), "%s", cause != NULL ? cause : "");
    }
    if (vg__inc_intf(v)) {
        n->first_intf = n->first_intf < 0 || t < n->first_intf ? t : n->first_intf;
        n->last_intf = t > n->last_intf ? t : n->last_intf;
        if (cause != NULL && cause[0] != '\0' && json_object_size(n->causes) < 64) {
            vg__inc_count(n->causes, cause, 1);
        }
    }
    if (ri->network_name[0] != '\0') {
        snprintf(n->name, sizeof(n->name), "%s", ri->network_name);
    }
    n->has_endpoints |= ri->has_endpoints;
    for (size_t i = 0; i < ri->n_ep; i++) {
        vg__inc_address(n, ri->ep[i].address, ri->ep[i].verdict);
    }
    vg__inc_sample(inc, n, m, v, cause, uid, t);
    if (vg_certgroup_add(n->certs, m, uid, t) < 0) {
        return; /* only a bug fails it: the counts stand */
    }
}

int
vg_incident_add(struct vg_incident *inc, json_t *m, enum vg_verdict v, const char *cause,
                const char *uid)
{
    struct vg_rec_summary s;
    struct vg_rec_incident ri;
    struct vg__inc_net *n;

    if (vg_rec_summary_read(m, &s, NULL, 0) < 0 || strcmp(s.input, inc->input) != 0 ||
        (inc->since != 0 && s.start_time < inc->since) ||
        (inc->until != 0 && s.start_time >= inc->until)) {
        return 0;
    }
    vg_rec_incident_read(m, &ri);
    if (ri.is_locate) {
        vg__inc_locate(inc, &s, &ri.loc);
        return 0;
    }
    if ((unsigned)v >= VG_VERDICT_COUNT ||
        (inc->cc[0] != '\0' && strcmp(inc->cc, s.probe_cc) != 0) ||
        (inc->has_asn && inc->asn != s.probe_asn)) {
        return 0;
    }
    if (inc->counted >= VG_INCIDENT_MEAS_MAX) {
        inc->truncated = true;
        return 0;
    }
    if ((n = vg__inc_net(inc, &s)) == NULL) {
        inc->truncated = true;
        return 0;
    }
    inc->counted++;
    vg__inc_tally(inc, n, m, &ri, v, cause, uid, s.start_time);
    return 1;
}

static int
vg__inc_net_cmp(const void *a, const void *b)
{
    const struct vg__inc_net *x = *(const struct vg__inc_net *const *)a;
    const struct vg__inc_net *y = *(const struct vg__inc_net *const *)b;
    unsigned ix = x->n[VG_VERDICT_BLOCKED] + x->n[VG_VERDICT_INTERCEPTED];
    unsigned iy = y->n[VG_VERDICT_BLOCKED] + y->n[VG_VERDICT_INTERCEPTED];
    int c;

    if (ix != iy) {
        return ix > iy ? -1 : 1;
    }
    if (x->total != y->total) {
        return x->total > y->total ? -1 : 1;
    }
    c = strcmp(x->cc, y->cc);
    return c != 0 ? c : (x->asn > y->asn) - (x->asn < y->asn);
}

/* The networks, most interference first: an array the caller frees. */
static struct vg__inc_net **
vg__inc_sorted(struct vg_incident *inc)
{
    struct vg__inc_net **v = vg_xcalloc(inc->n_nets + 1, sizeof(*v));

    for (size_t i = 0; i < inc->n_nets; i++) {
        v[i] = &inc->nets[i];
    }
    qsort(v, inc->n_nets, sizeof(*v), vg__inc_net_cmp);
    return v;
}

json_t *
vg_incident_networks(struct vg_incident *inc)
{
    struct vg__inc_net **v = vg__inc_sorted(inc);
    json_t *out = json_array();

    for (size_t i = 0; i < inc->n_nets; i++) {
        json_array_append_new(
            out,
            json_pack("{s:s, s:o, s:s, s:i, s:i}", VG_REC_KEY_PROBE_CC, v[i]->cc,
                      VG_REC_KEY_PROBE_ASN, vg__inc_jasn(v[i]->asn), "network_name", v[i]->name,
                      "measurements", (json_int_t)v[i]->total, "interference",
                      (json_int_t)(v[i]->n[VG_VERDICT_BLOCKED] + v[i]->n[VG_VERDICT_INTERCEPTED])));
    }
    free(v);
    return out;
}

static json_t *
vg__inc_share(unsigned k, unsigned n)
{
    double lo, hi;

    vg_wilson95(k, n, &lo, &hi);
    return json_pack("{s:i, s:f, s:f, s:f}", "n", (json_int_t)k, "share",
                     n > 0 ? (double)k / n : 0.0, "ci_low", lo, "ci_high", hi);
}

static int
vg__inc_pt_cmp(const void *a, const void *b)
{
    const struct vg__inc_pt *x = a, *y = b;

    return (x->t > y->t) - (x->t < y->t);
}

/* Bars of the timeline: a bucket of an hour, or of whole days when that makes too many. */
static json_t *
vg__inc_timeline(struct vg__inc_net *n)
{
    int64_t span = n->last - n->first, bucket = 3600, start = -1;
    json_t *pts = json_array(), *cur = NULL;

    if (span / bucket >= VG__INC_BUCKETS_MAX) {
        bucket = 86400 * (span / (86400 * (int64_t)VG__INC_BUCKETS_MAX) + 1);
    }
    qsort(n->pts, n->total, sizeof(*n->pts), vg__inc_pt_cmp);
    for (size_t i = 0; i < n->total; i++) {
        int64_t b = n->pts[i].t - n->pts[i].t % bucket;

        if (cur == NULL || b != start) {
            cur = json_pack("{s:o, s:i}", "start", vg__inc_jtime(b), "total", 0);
            for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
                json_object_set_new(cur, vg_verdict_name((enum vg_verdict)v), json_integer(0));
            }
            json_array_append_new(pts, cur);
            start = b;
        }
        vg__inc_count(cur, vg_verdict_name(n->pts[i].v), 1);
        vg__inc_count(cur, "total", 1);
    }
    return json_pack("{s:i, s:o}", "bucket_seconds", (json_int_t)bucket, "points", pts);
}

static int
vg__inc_addr_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t ix = json_integer_value(json_object_get(x, "interference"));
    json_int_t iy = json_integer_value(json_object_get(y, "interference"));

    if (ix != iy) {
        return ix > iy ? -1 : 1;
    }
    return strcmp(json_string_value(json_object_get(x, "address")),
                  json_string_value(json_object_get(y, "address")));
}

/* The addresses of x_endpoints that showed interference, or, for measurements without them
 * (older probes, OONI's), those that served a chain that did not validate. */
static json_t *
vg__inc_addresses(struct vg__inc_net *n, json_t *probe_chains)
{
    json_t *list[VG_INCIDENT_ADDRS_MAX * 4], *out = json_array(), *a, *ch;
    size_t k = 0, i;
    const char *addr;

    json_object_foreach(n->addrs, addr, a)
    {
        json_t *vs = json_object_get(a, "verdicts");
        json_int_t intf =
            json_integer_value(json_object_get(vs, vg_verdict_name(VG_VERDICT_BLOCKED))) +
            json_integer_value(json_object_get(vs, vg_verdict_name(VG_VERDICT_INTERCEPTED)));

        if (intf > 0 && k < sizeof(list) / sizeof(list[0])) {
            list[k++] = json_pack("{s:s, s:s, s:I, s:O, s:O}", "address", addr, "source",
                                  "endpoints", "interference", intf, "measurements",
                                  json_object_get(a, "measurements"), "verdicts", vs);
        }
    }
    if (!n->has_endpoints) {
        json_array_foreach(probe_chains, i, ch)
        {
            size_t j;
            json_t *ad;

            if (json_is_true(json_object_get(ch, "valid"))) {
                continue;
            }
            json_array_foreach(json_object_get(ch, "addresses"), j, ad)
            {
                if (k < sizeof(list) / sizeof(list[0])) {
                    list[k++] = json_pack("{s:O, s:s, s:O, s:O, s:{s:O}}", "address", ad, "source",
                                          "certificates", "interference",
                                          json_object_get(ch, "measurements"), "measurements",
                                          json_object_get(ch, "measurements"), "verdicts",
                                          vg_verdict_name(VG_VERDICT_INTERCEPTED),
                                          json_object_get(ch, "measurements"));
                }
            }
        }
    }
    qsort(list, k, sizeof(list[0]), vg__inc_addr_cmp);
    for (i = 0; i < k; i++) {
        if (i < VG_INCIDENT_ADDRS_MAX) {
            json_array_append(out, list[i]);
        }
        json_decref(list[i]);
    }
    return out;
}

/* The localisations of the input on network n, or on no known network (vigie locate looks up
 * none: ZZ, AS0), newest first. */
static json_t *
vg__inc_locations(struct vg_incident *inc, const struct vg__inc_net *n)
{
    json_t *out = json_array(), *l;
    size_t i = json_array_size(inc->locs);
    char asn[16];

    snprintf(asn, sizeof(asn), "AS%u", (unsigned)n->asn);
    while (i-- > 0 && json_array_size(out) < VG_INCIDENT_LOCATE_MAX) {
        const char *cc, *a;

        l = json_array_get(inc->locs, i);
        cc = json_string_value(json_object_get(l, VG_REC_KEY_PROBE_CC));
        a = json_string_value(json_object_get(l, VG_REC_KEY_PROBE_ASN));
        if ((strcmp(cc, n->cc) == 0 && strcmp(a, asn) == 0) ||
            (strcmp(cc, "ZZ") == 0 && strcmp(a, "AS0") == 0)) {
            json_array_append(out, l);
        }
    }
    return out;
}

static int
vg__inc_str_cmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Each chain's addresses in order, not in the order read: a report is the same whichever way
 * its measurements came (files in their order, a database by time and uid). */
static void
vg__inc_sort_addresses(json_t *chains)
{
    json_t *ch, *v[64];
    size_t i;

    json_array_foreach(chains, i, ch)
    {
        json_t *addrs = json_object_get(ch, "addresses");
        size_t n = json_array_size(addrs);

        if (n < 2 || n > sizeof(v) / sizeof(v[0])) {
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            v[k] = json_incref(json_array_get(addrs, k));
        }
        qsort(v, n, sizeof(v[0]), vg__inc_str_cmp);
        json_array_clear(addrs);
        for (size_t k = 0; k < n; k++) {
            json_array_append_new(addrs, v[k]);
        }
    }
}

/* How vigie measured and decided, in one paragraph; the verdicts' meanings from their table. */
static json_t *
vg__inc_method(void)
{
    char text[4096];
    size_t o;

    o = (size_t)snprintf(
        text, sizeof(text), "%s",
        "vigie measured the target from the network named above as OONI's Web Connectivity does: "
        "it resolved the host, connected to every address, completed a TLS handshake with each "
        "(keeping the certificates presented) and fetched the page, while a test helper on an "
        "uncensored network (the control) did the same and sent back what it saw. A verdict "
        "compares the two:");
    for (unsigned v = 0; v < VG_VERDICT_COUNT && o < sizeof(text); v++) {
        o += (size_t)snprintf(
            text + o, sizeof(text) - o, " \"%s\": %s%s", vg_verdict_name((enum vg_verdict)v),
            vg_verdict_meaning((enum vg_verdict)v), v + 1 < VG_VERDICT_COUNT ? ";" : ".");
    }
    if (o < sizeof(text)) {
        snprintf(text + o, sizeof(text) - o,
                 " An interception is a TLS handshake completed with a certificate that does not "
                 "validate for the host while the control was served a valid one, or one that "
                 "validates on the probe's device but whose key and CA keys the control never "
                 "saw for the host (a CA the device was made to trust): the mark of a "
                 "man-in-the-middle. Shares are of the measurements in the period, with Wilson "
                 "score 95%% intervals; interference counts \"%s\" and \"%s\" together, and is "
                 "intermittent when the same period also has \"%s\" measurements. Measurements "
                 "from other probes (OONI's) were given vigie's verdict by the same rules (vigie "
                 "analyze).",
                 vg_verdict_name(VG_VERDICT_BLOCKED), vg_verdict_name(VG_VERDICT_INTERCEPTED),
                 vg_verdict_name(VG_VERDICT_ACCESSIBLE));
    }
    return json_string(text);
}

/* The report's network n: its counts and where it stands. */
static void
vg__inc_counts(json_t *r, struct vg__inc_net *n)
{
    json_t *vs = json_object();
    unsigned intf = n->n[VG_VERDICT_BLOCKED] + n->n[VG_VERDICT_INTERCEPTED];

    for (unsigned v = 0; v < VG_VERDICT_COUNT; v++) {
        json_object_set_new(vs, vg_verdict_name((enum vg_verdict)v),
                            vg__inc_share(n->n[v], n->total));
    }
    json_object_set_new(r, "verdicts", vs);
    json_object_set_new(r, "interference", vg__inc_share(intf, n->total));
    json_object_set_new(r, "intermittent",
                        json_boolean(intf > 0 && n->n[VG_VERDICT_ACCESSIBLE] > 0));
    json_object_set_new(r, "first_interference", vg__inc_jtime(n->first_intf));
    json_object_set_new(r, "last_interference", vg__inc_jtime(n->last_intf));
    json_object_set_new(
        r, "latest",
        json_pack("{s:s, s:o, s:o}", VG_REC_KEY_X_VERDICT, vg_verdict_name(n->latest),
                  VG_REC_KEY_X_CAUSE,
                  n->latest_cause[0] != '\0' ? json_string(n->latest_cause) : json_null(),
                  VG_REC_KEY_MEASUREMENT_START_TIME, vg__inc_jtime(n->last)));
    json_object_set_new(r, "causes", json_deep_copy(n->causes));
}

json_t *
vg_incident_json(struct vg_incident *inc)
{
    struct vg__inc_net **v, *n;
    json_t *r, *probe, *control, *note = json_null();
    char gen[VG_TIME_TEXT_MAX];

    if (inc->n_nets == 0) {
        return NULL;
    }
    v = vg__inc_sorted(inc);
    n = v[0];
    free(v);
    vg_time_format((int64_t)time(NULL), VG_TIME_ISO8601, gen, sizeof(gen));
    if (inc->truncated) {
        note = json_sprintf("only the first %u measurements were counted", inc->counted);
    }
    probe = vg_certgroup_list(n->certs, false);
    control = vg_certgroup_list(n->certs, true);
    vg__inc_sort_addresses(probe);
    vg__inc_sort_addresses(control);
    r = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:o, s:o, s:s, s:i}, s:{s:o, s:o, s:o, s:o}, s:i, "
        "s:b, s:o}",
        "report", "vigie incident report", "vigie_version", VG_VERSION, "generated_at", gen,
        "source", inc->source, "target", VG_REC_KEY_INPUT, inc->input, "network",
        VG_REC_KEY_PROBE_CC, n->cc, VG_REC_KEY_PROBE_ASN, vg__inc_jasn(n->asn), "network_name",
        n->name[0] != '\0' ? json_string(n->name) : json_null(), "chosen",
        inc->cc[0] != '\0' || inc->has_asn ? "given" : "most interference", "networks",
        (json_int_t)inc->n_nets, "period", "since",
        inc->since != 0 ? vg__inc_jtime(inc->since) : json_null(), "until",
        inc->until != 0 ? vg__inc_jtime(inc->until) : json_null(), "first_measurement",
        vg__inc_jtime(n->first), "last_measurement", vg__inc_jtime(n->last), "measurements",
        (json_int_t)n->total, "truncated", inc->truncated, "note", note);
    vg__inc_counts(r, n);
    json_object_set_new(r, "timeline", vg__inc_timeline(n));
    json_object_set_new(r, "affected_addresses", vg__inc_addresses(n, probe));
    json_object_set_new(r, "certificates",
                        json_pack("{s:o, s:o, s:I}", "probe", probe, "control", control,
                                  "sightings_not_listed",
                                  (json_int_t)vg_certgroup_dropped(n->certs)));
    json_object_set_new(r, "locations", vg__inc_locations(inc, n));
    json_object_set_new(r, "samples", json_deep_copy(n->samples));
    json_object_set_new(r, "method", vg__inc_method());
    return r;
}

char *
vg_incident_dumps(const json_t *report)
{
    return json_dumps(report, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
}
