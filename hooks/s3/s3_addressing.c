/*
 * hooks/s3/s3_addressing.c - which host and path a request on a bucket goes
 * to, as botocore (1.43) resolves them:
 *
 *   AWS (no endpoint_url)   https://BUCKET.s3.REGION.amazonaws.com/KEY (".com.cn" for cn-*)
 *     us-east-1             the legacy global endpoint https://BUCKET.s3.amazonaws.com/KEY
 *                           unless us_east_1_regional_endpoint = regional (also with path
 *                           style: https://s3.amazonaws.com/BUCKET/KEY)
 *     dualstack             s3.dualstack.REGION.amazonaws.com (regional, also in us-east-1)
 *     fips                  s3-fips.REGION... ; both: s3-fips.dualstack.REGION...
 *     accelerate            BUCKET.s3-accelerate[.dualstack].amazonaws.com (signed for REGION)
 *   custom endpoint_url     the endpoint as given; path style unless addressing_style is
 *                           virtual and the host is a name (an IP address stays path style)
 *   path style              for addressing_style=path, and for buckets that cannot be a DNS
 *                           label (upper case, '_', not 3-63 characters, a '.' on AWS or
 *                           over https: botocore's rule)
 *
 * The region is a parameter: a bucket whose region was learned from a redirect
 * (s3_region.c) is addressed in its own region.  Combinations botocore
 * refuses (accelerate with FIPS, with a custom endpoint, outside the aws
 * partition, with a dotted bucket) are FERRY_ERR_USAGE naming the settings;
 * ferry also refuses accelerate with addressing_style=path, which botocore
 * silently turns into virtual.
 */
#include <stdio.h>
#include <string.h>

#include "hooks/s3/s3_internal.h"

/* An IPv4 dotted quad or an IPv6 literal ("[...]"), with an optional port. */
static int host_is_ip(const char *host)
{
    if (host[0] == '[')
        return 1;
    int dots = 0, digits = 0;
    for (const char *p = host; *p && *p != ':'; p++) {
        if (*p == '.') {
            if (!digits)
                return 0;
            dots++;
            digits = 0;
        } else if (*p >= '0' && *p <= '9') {
            digits++;
        } else {
            return 0;
        }
    }
    return dots == 3 && digits > 0;
}

const char *ferry_s3_dns_suffix(const char *region)
{
    return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

ferry_status ferry_s3_addressing_check(const ferry_s3_config *cfg, ferry_error *err)
{
    if (!cfg->accelerate)
        return FERRY_OK;
    const char *clash = NULL;
    if (cfg->custom_endpoint)
        clash = "a custom endpoint_url";
    else if (cfg->fips)
        clash = "use_fips_endpoint";
    else if (cfg->style == FERRY_S3_STYLE_PATH)
        clash = "addressing_style=path";
    else if (strcmp(ferry_s3_dns_suffix(cfg->region), "amazonaws.com") != 0 ||
             strncmp(cfg->region, "us-gov-", 7) == 0)
        clash = "a region outside the aws partition";
    if (!clash)
        return FERRY_OK;
    return ferry_error_hook(err, FERRY_ERR_USAGE, "s3", cfg->conn_id,
                            "use_accelerate_endpoint cannot be combined with %s (region %s)", clash,
                            cfg->region);
}

ferry_status ferry_s3_address(const ferry_s3_config *cfg, const char *region, const char *bucket,
                              const char *key, ferry_buf *host, ferry_buf *path, ferry_error *err)
{
    ferry_buf_reset(host);
    ferry_buf_reset(path);
    if (!region || !*region)
        region = cfg->region;
    int rc = 0;
    int has_key = key && *key;
    int is_aws = !cfg->custom_endpoint;
    int global = is_aws && !cfg->us_east_1_regional && !cfg->dualstack && !cfg->fips &&
                 (strcmp(region, "us-east-1") == 0 || strcmp(region, "aws-global") == 0);
    /* virtual-hosted style possible for this bucket? */
    int virt = 0;
    if (bucket) {
        int dots_ok = !is_aws && !cfg->https;   /* a dotted name breaks the certificate match */
        int label_ok = ferry_s3_bucket_virtual_ok(bucket, !dots_ok);
        if (cfg->accelerate) {
            if (!label_ok)
                return ferry_error_hook(err, FERRY_ERR_USAGE, "s3", cfg->conn_id,
                                        "bucket '%s' cannot be addressed with use_accelerate_endpoint "
                                        "(it is no DNS label, so it would need path style)", bucket);
            virt = 1;
        } else if (label_ok) {
            if (cfg->style == FERRY_S3_STYLE_VIRTUAL)
                virt = !(cfg->custom_endpoint && host_is_ip(cfg->host));
            else if (cfg->style == FERRY_S3_STYLE_AUTO)
                virt = is_aws;
        }
    }
    /* the service host */
    char svc[256];
    if (!is_aws)
        snprintf(svc, sizeof svc, "%s", cfg->host);
    else if (cfg->accelerate)
        snprintf(svc, sizeof svc, "s3-accelerate%s.amazonaws.com", cfg->dualstack ? ".dualstack" : "");
    else if (global)
        snprintf(svc, sizeof svc, "s3.amazonaws.com");
    else
        snprintf(svc, sizeof svc, "%s%s.%s.%s", cfg->fips ? "s3-fips" : "s3",
                 cfg->dualstack ? ".dualstack" : "", region, ferry_s3_dns_suffix(region));
    const char *base = cfg->base_path ? cfg->base_path : "";
    if (virt) {
        rc |= ferry_buf_appendf(host, "%s.%s", bucket, svc);
        rc |= ferry_buf_appendf(path, "%s/%s", base, has_key ? key : "");
    } else {
        rc |= ferry_buf_appends(host, svc);
        if (!bucket)
            rc |= ferry_buf_appendf(path, "%s/", base);
        else if (has_key)
            rc |= ferry_buf_appendf(path, "%s/%s/%s", base, bucket, key);
        else
            rc |= ferry_buf_appendf(path, "%s/%s", base, bucket);
    }
    if (rc)
        return ferry_error_oom(err, "s3", NULL, NULL);
    return FERRY_OK;
}

const char *ferry_s3_signing_region(const char *region)
{
    return strcmp(region, "aws-global") == 0 ? "us-east-1" : region;
}
