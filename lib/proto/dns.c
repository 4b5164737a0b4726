/* SPDX-License-Identifier: MIT */
/*
 * dns.c - DNS query encoder and reply decoder (RFC 1035), no I/O.
 *
 * The decoder treats every byte as hostile: it reads through the bounded reader only, follows
 * compression pointers strictly backwards (each jump must land before the place where the
 * previous run of labels started, so a loop is impossible even before the jump cap), walks all
 * four sections, and refuses trailing bytes.
 */
#include "proto/dns.h"

#include <string.h>

#include "util/rd.h"
#include "util/str.h"

#define DNS_HEADER_LEN 12
#define DNS_FLAG_QR    0x8000
#define DNS_FLAG_TC    0x0200
#define DNS_FLAG_RD    0x0100
#define DNS_PTR_MASK   0xc0

/* Presentation text being built, bounded by the name buffers of dns.h. */
struct name_out {
    char *s;
    size_t len;
};

static int
name_put(struct name_out *o, char c)
{
    VG_ENSURE(o->len < VG_DNS_NAME_MAX, VG_ETOOBIG);
    o->s[o->len++] = c;
    o->s[o->len] = '\0';
    return 0;
}

/*
 * One label byte in presentation form: lower case, and \DDD for anything that is not printable
 * ASCII or that would be read back as syntax (a dot inside a label, the backslash itself), so
 * the result can be logged and written to JSON as is.
 */
static int
name_put_byte(struct name_out *o, uint8_t b)
{
    if (b >= 'A' && b <= 'Z') {
        return name_put(o, (char)(b - 'A' + 'a'));
    }
    if (b > 0x20 && b < 0x7f && b != '.' && b != '\\') {
        return name_put(o, (char)b);
    }
    VG_TRY(name_put(o, '\\'));
    VG_TRY(name_put(o, (char)('0' + b / 100)));
    VG_TRY(name_put(o, (char)('0' + b / 10 % 10)));
    return name_put(o, (char)('0' + b % 10));
}

/*
 * RFC 1035 3.1 (name syntax) and 4.1.4 (message compression).
 * Reads the name at the cursor into out (VG_DNS_NAME_MAX + 1 bytes) and leaves the cursor after
 * the name as it appears in place, i.e. after the first pointer when there is one.
 */
static int
dns_read_name(struct vg_rd *rd, char *out)
{
    struct name_out o = {out, 0};
    size_t run_start = rd->off; /* where the current run of labels began */
    size_t resume = 0;          /* cursor position after the name, once a pointer is taken */
    size_t wire = 1;            /* the final zero octet */
    unsigned jumps = 0;

    out[0] = '\0';
    for (;;) {
        const uint8_t *label;
        uint8_t len;

        VG_TRY(vg_rd_u8(rd, &len));
        if (len == 0) {
            break;
        }
        if ((len & DNS_PTR_MASK) == DNS_PTR_MASK) {
            uint8_t lo;
            size_t target;

            VG_TRY(vg_rd_u8(rd, &lo));
            target = (size_t)(len & ~DNS_PTR_MASK) << 8 | lo;
            /* Only backwards, never into the header, never into the run just read. */
            VG_ENSURE(target >= DNS_HEADER_LEN && target < run_start, VG_EPROTO);
            VG_ENSURE(++jumps <= VG_DNS_MAX_JUMPS, VG_EPROTO);
            if (jumps == 1) {
                resume = rd->off;
            }
            VG_TRY(vg_rd_seek(rd, target));
            run_start = target;
            continue;
        }
        /* 01 and 10 are the extended and reserved label types (RFC 6891 4.2, RFC 2673). */
        VG_ENSURE((len & DNS_PTR_MASK) == 0, VG_EPROTO);
        wire += 1 + (size_t)len;
        VG_ENSURE(wire <= VG_DNS_WIRE_NAME_MAX, VG_ETOOBIG);
        VG_TRY(vg_rd_bytes(rd, len, &label));
        if (o.len > 0) {
            VG_TRY(name_put(&o, '.'));
        }
        for (size_t i = 0; i < len; i++) {
            VG_TRY(name_put_byte(&o, label[i]));
        }
    }
    if (jumps > 0) {
        VG_TRY(vg_rd_seek(rd, resume));
    }
    return 0;
}

/* RFC 1035 4.1.2: one entry of the question section. */
static int
dns_read_question(struct vg_rd *rd, struct vg_dns_msg *msg, bool first)
{
    char name[VG_DNS_NAME_MAX + 1];
    uint16_t qtype, qclass;

    VG_TRY(dns_read_name(rd, name));
    VG_TRY(vg_rd_u16(rd, &qtype));
    VG_TRY(vg_rd_u16(rd, &qclass));
    if (first) {
        memcpy(msg->qname, name, sizeof(name));
        msg->qtype = qtype;
        msg->qclass = qclass;
    }
    return 0;
}

/*
 * RFC 1035 4.1.3 (resource record) and 3.3.1, 3.4.1, RFC 3596 2.2 (RDATA of CNAME, A, AAAA).
 * The RR is decoded into *rr; the caller decides whether to keep it.
 */
static int
dns_read_rr(struct vg_rd *rd, struct vg_dns_rr *rr)
{
    uint16_t rdlen;
    size_t rdata_end;

    memset(rr, 0, sizeof(*rr));
    VG_TRY(dns_read_name(rd, rr->name));
    VG_TRY(vg_rd_u16(rd, &rr->type));
    VG_TRY(vg_rd_u16(rd, &rr->cls));
    VG_TRY(vg_rd_u32(rd, &rr->ttl));
    VG_TRY(vg_rd_u16(rd, &rdlen));
    VG_ENSURE(vg_rd_left(rd) >= rdlen, VG_ETRUNC);
    rdata_end = rd->off + rdlen;

    if (rr->type == VG_DNS_TYPE_CNAME) {
        /*
         * The RDATA is one name and nothing else. It is read through a reader that ends with the
         * RDATA, so running out of bytes there means the name does not fit its RDLENGTH;
         * compression pointers still reach back into the message (RFC 1035 4.1.4).
         */
        struct vg_rd sub;
        int rc;

        vg_rd_init(&sub, rd->p, rdata_end);
        VG_TRY(vg_rd_seek(&sub, rd->off));
        rc = dns_read_name(&sub, rr->u.cname);
        VG_ENSURE(rc != VG_ETRUNC, VG_EPROTO);
        VG_TRY(rc);
        VG_ENSURE(vg_rd_done(&sub), VG_EPROTO);
        return vg_rd_skip(rd, rdlen);
    }
    /* A and AAAA have a fixed layout in class IN only; other classes define their own. */
    if (rr->cls == VG_DNS_CLASS_IN && rr->type == VG_DNS_TYPE_A) {
        VG_ENSURE(rdlen == sizeof(rr->u.a), VG_EPROTO);
        return vg_rd_copy(rd, rr->u.a, sizeof(rr->u.a));
    }
    if (rr->cls == VG_DNS_CLASS_IN && rr->type == VG_DNS_TYPE_AAAA) {
        VG_ENSURE(rdlen == sizeof(rr->u.aaaa), VG_EPROTO);
        return vg_rd_copy(rd, rr->u.aaaa, sizeof(rr->u.aaaa));
    }
    return vg_rd_skip(rd, rdlen);
}

/* RFC 1035 4.1: header, then question, answer, authority and additional sections. */
int
vg_dns_parse(const uint8_t *p, size_t len, struct vg_dns_msg *msg)
{
    struct vg_rd rd;
    struct vg_dns_rr scratch;
    unsigned rest;

    memset(msg, 0, offsetof(struct vg_dns_msg, rr));
    vg_rd_init(&rd, p, len);

    /* RFC 1035 4.1.1 */
    VG_TRY(vg_rd_u16(&rd, &msg->id));
    VG_TRY(vg_rd_u16(&rd, &msg->flags));
    VG_TRY(vg_rd_u16(&rd, &msg->qdcount));
    VG_TRY(vg_rd_u16(&rd, &msg->ancount));
    VG_TRY(vg_rd_u16(&rd, &msg->nscount));
    VG_TRY(vg_rd_u16(&rd, &msg->arcount));
    msg->rcode = (uint8_t)(msg->flags & 0x0f);
    msg->qr = (msg->flags & DNS_FLAG_QR) != 0;
    msg->tc = (msg->flags & DNS_FLAG_TC) != 0;

    for (unsigned i = 0; i < msg->qdcount; i++) {
        VG_TRY(dns_read_question(&rd, msg, i == 0));
    }
    for (unsigned i = 0; i < msg->ancount; i++) {
        if (msg->n_rr < VG_DNS_MAX_RR) {
            VG_TRY(dns_read_rr(&rd, &msg->rr[msg->n_rr]));
            msg->n_rr++;
        } else {
            VG_TRY(dns_read_rr(&rd, &scratch));
        }
    }
    /* Authority and additional records are not kept, but they must be well formed too. */
    rest = (unsigned)msg->nscount + msg->arcount;
    for (unsigned i = 0; i < rest; i++) {
        VG_TRY(dns_read_rr(&rd, &scratch));
    }
    VG_ENSURE(vg_rd_done(&rd), VG_EPROTO);
    return 0;
}

/*
 * Next label of a presentation name, unescaping \DDD and \c. On return *pos is past the label
 * and its dot. Returns the label length or a negative error.
 */
static int
name_next_label(const char *name, size_t *pos, uint8_t *label)
{
    size_t i = *pos, n = 0;

    while (name[i] != '\0' && name[i] != '.') {
        unsigned b;

        if (name[i] != '\\') {
            b = (unsigned char)name[i];
            i++;
        } else if (name[i + 1] >= '0' && name[i + 1] <= '9') {
            uint64_t v;

            /* Three digits are required; name[i + 2] is only read if name[i + 1] is a digit. */
            VG_ENSURE(name[i + 2] != '\0' && name[i + 3] != '\0', VG_EINVAL);
            VG_ENSURE(vg_parse_u64n(&name[i + 1], 3, 0, 255, &v) == 0, VG_EINVAL);
            b = (unsigned)v;
            i += 4;
        } else {
            VG_ENSURE(name[i + 1] != '\0', VG_EINVAL);
            b = (unsigned char)name[i + 1];
            i += 2;
        }
        VG_ENSURE(n < VG_DNS_LABEL_MAX, VG_EINVAL);
        label[n++] = (uint8_t)b;
    }
    if (name[i] == '.') {
        i++;
    }
    *pos = i;
    return (int)n;
}

/* RFC 1035 4.1.1 and 4.1.2: a standard query with RD set and one question. */
int
vg_dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out, size_t cap,
                   size_t *outlen)
{
    uint8_t wire[VG_DNS_WIRE_NAME_MAX];
    size_t wlen = 0, pos = 0, need;

    *outlen = 0;
    VG_ENSURE(name[0] != '\0', VG_EINVAL);
    if (strcmp(name, ".") != 0) {
        while (name[pos] != '\0') {
            uint8_t label[VG_DNS_LABEL_MAX];
            int n = name_next_label(name, &pos, label);

            VG_TRY(n);
            VG_ENSURE(n > 0, VG_EINVAL);
            /* The label, its length octet and the final zero octet must fit in 255. */
            VG_ENSURE(wlen + 1 + (size_t)n + 1 <= VG_DNS_WIRE_NAME_MAX, VG_EINVAL);
            wire[wlen++] = (uint8_t)n;
            memcpy(&wire[wlen], label, (size_t)n);
            wlen += (size_t)n;
        }
    }
    wire[wlen++] = 0;

    need = DNS_HEADER_LEN + wlen + 4;
    VG_ENSURE(cap >= need, VG_ETOOBIG);
    memset(out, 0, DNS_HEADER_LEN);
    out[0] = (uint8_t)(id >> 8);
    out[1] = (uint8_t)id;
    out[2] = DNS_FLAG_RD >> 8;
    out[5] = 1; /* QDCOUNT */
    memcpy(&out[DNS_HEADER_LEN], wire, wlen);
    out[DNS_HEADER_LEN + wlen] = (uint8_t)(qtype >> 8);
    out[DNS_HEADER_LEN + wlen + 1] = (uint8_t)qtype;
    out[DNS_HEADER_LEN + wlen + 2] = 0;
    out[DNS_HEADER_LEN + wlen + 3] = VG_DNS_CLASS_IN;
    *outlen = need;
    return 0;
}

/* Length of a presentation name without one final, unescaped dot. */
static size_t
name_len_nodot(const char *s)
{
    size_t n = strlen(s), bs = 0;

    if (n == 0 || s[n - 1] != '.') {
        return n;
    }
    /* An odd number of backslashes before the dot escapes it: "a\." keeps its dot. */
    while (bs < n - 1 && s[n - 2 - bs] == '\\') {
        bs++;
    }
    return bs % 2 == 0 ? n - 1 : n;
}

bool
vg_dns_name_eq(const char *a, const char *b)
{
    size_t la = name_len_nodot(a), lb = name_len_nodot(b);

    return la == lb && vg_strncaseeq(a, b, la);
}

int
vg_dns_rcode_err(uint8_t rcode)
{
    switch (rcode) {
    case VG_DNS_RCODE_NOERROR:
        return 0;
    case VG_DNS_RCODE_NXDOMAIN:
        return VG_EDNS_NXDOMAIN;
    case VG_DNS_RCODE_SERVFAIL:
        return VG_EDNS_SERVFAIL;
    case VG_DNS_RCODE_REFUSED:
        return VG_EDNS_REFUSED;
    default:
        return VG_EDNS_MISBEHAVING;
    }
}
