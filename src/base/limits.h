/* Every size and count cove enforces, in one place. docs/API.md states each of them. */
#pragma once

/* HTTP */
#define COVE_MAX_JSON_BODY    (24u << 20)  /* JSON request body: a 16 MiB exec stdin fits */
#define COVE_MAX_UPLOAD_BYTES (1ull << 32) /* one uploaded file, 4 GiB */
#define COVE_MAX_URL_BYTES    8192
#define COVE_MAX_HEADER_BYTES (64u << 10) /* all request headers of one request */
#define COVE_MAX_CONNECTIONS  2048
#define COVE_CONN_TIMEOUT_S   120 /* idle / slowloris cut-off */

/* The state filesystem holds the database and every sandbox's (sparse) disk image: creates
 * and file writes through the API are refused (507) when it has less than this free, checked
 * again every COVE_STATE_CHECK_BYTES of an upload. */
#define COVE_STATE_MIN_FREE_MIB 64
#define COVE_STATE_CHECK_BYTES  (8u << 20)

/* Sandboxes */
#define COVE_MAX_SANDBOXES   1000 /* per daemon, default quota */
#define COVE_MAX_NAME        63
#define COVE_MAX_LABELS      64
#define COVE_MAX_LABEL_KEY   128
#define COVE_MAX_LABEL_VALUE 1024
#define COVE_MAX_ENV         256
#define COVE_MAX_ENV_BYTES   (64u << 10)
#define COVE_MAX_ARGV        4096
#define COVE_MAX_ARGV_BYTES  (1u << 20)
#define COVE_MAX_PATH        4096

/* Tenancy (the /v1/admin API) */
#define COVE_MAX_ORGS            10000
#define COVE_MAX_ORG_ID          64  /* bytes of an organization id */
#define COVE_MAX_ADMIN_NAME      64  /* bytes of an organization or key display name */
#define COVE_MAX_KEYS_PER_ORG    100 /* unrevoked keys */
#define COVE_MAX_QUOTA_SANDBOXES 100000
#define COVE_MAX_QUOTA_CPU_MILLI 1000000000u  /* a million cores */
#define COVE_MAX_QUOTA_MIB       (1ull << 40) /* memory or disk quota */

/* Limits a sandbox may ask for */
#define COVE_DEFAULT_CPU_MILLI    1000
#define COVE_MAX_CPU_MILLI        64000
#define COVE_DEFAULT_MEMORY_MIB   1024
#define COVE_MIN_MEMORY_MIB       16
#define COVE_MAX_MEMORY_MIB       (256u * 1024)
#define COVE_DEFAULT_DISK_MIB     3072
#define COVE_MIN_DISK_MIB         64
#define COVE_MAX_DISK_MIB         (1024u * 1024)
#define COVE_DEFAULT_PIDS         1024
#define COVE_MAX_PIDS             32768
#define COVE_DEFAULT_AUTOSTOP_MIN 15
#define COVE_MAX_AUTOSTOP_MIN     (60 * 24 * 365)

/* Exec */
#define COVE_DEFAULT_TIMEOUT_MS  (60u * 1000)
#define COVE_MAX_TIMEOUT_MS      (24ull * 3600 * 1000)
#define COVE_DEFAULT_OUTPUT_CAP  (1u << 20) /* per stream */
#define COVE_MAX_OUTPUT_CAP      (16u << 20)
#define COVE_MAX_STDIN_BYTES     (16u << 20)
#define COVE_MAX_CONCURRENT_EXEC 64          /* per sandbox */
#define COVE_MAX_PTYS            64          /* Daytona PTY sessions per sandbox */
#define COVE_MAX_PTY_ID          128         /* bytes of a PTY session id */
#define COVE_MAX_PTY_INPUT       (64u << 10) /* one WebSocket input frame */

/* Code-run and validate */
#define COVE_DEFAULT_COMPILE_TIMEOUT_MS  (120u * 1000)
#define COVE_DEFAULT_VALIDATE_TIMEOUT_MS (30u * 1000)
#define COVE_MAX_CODERUN_FILES           256

/* Egress (network access of a sandbox that opted in) */
#define COVE_MAX_ALLOW_CIDRS   64    /* CIDRs in one sandbox's allow list */
#define COVE_MAX_NET_SLOTS     16384 /* networked sandboxes per daemon: /30s in a /16 */
#define COVE_MAX_ALLOW_DOMAINS 32    /* domain names in one sandbox's allow list */
#define COVE_MAX_DOMAIN        253   /* bytes of one domain name */
