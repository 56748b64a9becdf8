/* storage.c -- s3:// to s3.h, file:// and bare paths to the file system.
 *
 * The S3 client is made on first use, so a laptop run that only touches
 * files needs no AWS settings at all. */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "s3.h"

/* Our own temporary files while a write is in flight; never listed. */
#define TMP_MARK ".btpipe-tmp-"

struct storage {
    const struct config *cfg;
    struct s3_client *s3;
};

int storage_new(const struct config *cfg, struct storage **out, struct bt_err *err) {
    (void)err;
    struct storage *st = calloc(1, sizeof(*st));
    st->cfg = cfg;
    *out = st;
    return 0;
}

void storage_free(struct storage *st) {
    if (!st) return;
    s3_client_free(st->s3);
    free(st);
}

int storage_split_s3(const char *uri, char *bucket, size_t bucket_cap, const char **key) {
    if (strncmp(uri, "s3://", 5) != 0) return BT_EINPUT;
    const char *b = uri + 5;
    const char *slash = strchr(b, '/');
    size_t bn = slash ? (size_t)(slash - b) : strlen(b);
    if (bn == 0 || bn >= bucket_cap) return BT_EINPUT;
    memcpy(bucket, b, bn);
    bucket[bn] = '\0';
    *key = slash ? slash + 1 : b + bn;
    return 0;
}

/* The S3 client, made now if this is the first s3:// URI. */
static int get_s3(struct storage *st, struct bt_err *err) {
    if (st->s3) return 0;
    int rc = s3_client_new(st->cfg, &st->s3, err);
    if (rc) bt_err_prefix(err, "storage: s3:// URI needs the S3 client: ");
    return rc;
}

/* Splits an s3 URI with an error naming it. */
static int split_s3(const char *uri, char *bucket, const char **key, int need_key,
                    struct bt_err *err) {
    if (storage_split_s3(uri, bucket, 64, key) != 0)
        return bt_err_set(err, BT_EINPUT, uri,
                          "'%s' is not s3://bucket/key (bucket names are "
                          "1-63 characters)",
                          uri);
    if (need_key && !**key)
        return bt_err_set(err, BT_EINPUT, uri, "'%s' names a bucket, not an object", uri);
    return 0;
}

/* Local path of a file:// URI or bare path; NULL for other schemes. */
static const char *file_path(const char *uri) {
    if (strncmp(uri, "file://", 7) == 0) return uri + 7;
    if (strstr(uri, "://")) return NULL;
    return uri;
}

static int bad_scheme(const char *uri, struct bt_err *err) {
    return bt_err_set(err, BT_EINPUT, uri,
                      "'%s': unsupported URI scheme (s3://, file:// or a "
                      "path)",
                      uri);
}

/* Reads a whole file into out. */
static int file_read(const char *path, struct buf *out, struct bt_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bt_err_set(err, errno == ENOENT ? BT_ENOTFOUND : BT_EIO, path, "%s: %s", path,
                          strerror(errno));
    char tmp[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = bt_err_set(err, BT_EIO, path, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        buf_append(out, tmp, (size_t)n);
    }
    close(fd);
    return rc;
}

int storage_read(struct storage *st, const char *uri, struct buf *out, struct bt_err *err) {
    const char *path = file_path(uri);
    if (path) return file_read(path, out, err);
    if (strncmp(uri, "s3://", 5) != 0) return bad_scheme(uri, err);
    char bucket[64];
    const char *key;
    int rc;
    if ((rc = split_s3(uri, bucket, &key, 1, err)) || (rc = get_s3(st, err))) return rc;
    return s3_get_object_buf(st->s3, bucket, key, out, err);
}

/* mkdir -p of the directory part of path. */
static int make_parents(const char *path, struct bt_err *err) {
    char *d = strdup(path);
    int rc = 0;
    for (char *p = d + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(d, 0777) != 0 && errno != EEXIST) {
            rc = bt_err_set(err, BT_EIO, d, "mkdir %s: %s", d, strerror(errno));
            break;
        }
        *p = '/';
    }
    free(d);
    return rc;
}

/* Writes to a temporary file in the same directory, then renames it over
 * the target: readers see the old file or the new one, never half of one. */
static int file_write(const char *path, const void *data, size_t n, struct bt_err *err) {
    int rc = 0, fd = -1;
    struct buf tmp = BUF_INIT;
    if ((rc = make_parents(path, err))) goto fail;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path + 1) : 0;
    buf_printf(&tmp, "%.*s" TMP_MARK "%s.XXXXXX", (int)dl, path, slash ? slash + 1 : path);
    fd = mkstemp(tmp.p);
    if (fd < 0) {
        rc = bt_err_set(err, BT_EIO, path, "%s: cannot create a temporary file: %s", path,
                        strerror(errno));
        goto fail;
    }
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            rc = bt_err_set(err, BT_EIO, path, "%s: write: %s", path, strerror(errno));
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = bt_err_set(err, BT_EIO, path, "%s: fsync/close: %s", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp.p, path) != 0) {
        rc = bt_err_set(err, BT_EIO, path, "rename to %s: %s", path, strerror(errno));
        goto fail;
    }
fail:
    if (fd >= 0) close(fd);
    if (rc && tmp.p) unlink(tmp.p);
    buf_free(&tmp);
    return rc;
}

int storage_write(struct storage *st, const char *uri, const void *data, size_t n,
                  struct bt_err *err) {
    const char *path = file_path(uri);
    if (path) return file_write(path, data, n, err);
    if (strncmp(uri, "s3://", 5) != 0) return bad_scheme(uri, err);
    char bucket[64];
    const char *key;
    int rc;
    if ((rc = split_s3(uri, bucket, &key, 1, err)) || (rc = get_s3(st, err))) return rc;
    return s3_put_object(st->s3, bucket, key, data, n, NULL, err);
}

int storage_exists(struct storage *st, const char *uri, struct bt_err *err) {
    const char *path = file_path(uri);
    if (path) {
        struct stat sb;
        if (stat(path, &sb) == 0) return 0;
        return bt_err_set(err, errno == ENOENT ? BT_ENOTFOUND : BT_EIO, path, "%s: %s", path,
                          strerror(errno));
    }
    if (strncmp(uri, "s3://", 5) != 0) return bad_scheme(uri, err);
    char bucket[64];
    const char *key;
    int rc;
    if ((rc = split_s3(uri, bucket, &key, 1, err)) || (rc = get_s3(st, err))) return rc;
    struct s3_object_info info;
    rc = s3_head_object(st->s3, bucket, key, &info, err);
    if (rc == 0) s3_object_info_free(&info);
    return rc;
}

/* A growable entry array. */
struct entries {
    struct storage_entry *e;
    size_t n, cap;
};

static void entries_push(struct entries *v, char *uri, char *etag, int64_t size) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->e = realloc(v->e, v->cap * sizeof(*v->e));
        if (!v->e) abort();
    }
    v->e[v->n++] = (struct storage_entry){uri, etag, size};
}

/* Walks dir recursively, keeping regular files whose path starts with want. */
static int walk(const char *dir, const char *want, const char *scheme, struct entries *v,
                struct bt_err *err) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return bt_err_set(err, BT_EIO, dir, "%s: %s", dir, strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    struct buf path = BUF_INIT;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            strncmp(de->d_name, TMP_MARK, strlen(TMP_MARK)) == 0)
            continue;
        buf_reset(&path);
        buf_printf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
        struct stat sb;
        if (stat(path.p, &sb) != 0) continue; /* vanished while we looked */
        if (S_ISDIR(sb.st_mode)) {
            /* Descend only where matches can be: the prefix and the dir overlap. */
            size_t pl = path.len, wl = strlen(want);
            if (strncmp(path.p, want, pl < wl ? pl : wl) == 0 &&
                (rc = walk(path.p, want, scheme, v, err)))
                break;
        } else if (S_ISREG(sb.st_mode) && strncmp(path.p, want, strlen(want)) == 0) {
            struct buf uri = BUF_INIT, etag = BUF_INIT;
            buf_printf(&uri, "%s%s", scheme, path.p);
            buf_printf(&etag, "%lld-%lld.%09ld", (long long)sb.st_size,
                       (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
            entries_push(v, buf_detach(&uri), buf_detach(&etag), (int64_t)sb.st_size);
        }
    }
    buf_free(&path);
    closedir(d);
    return rc;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const struct storage_entry *)a)->uri, ((const struct storage_entry *)b)->uri);
}

int storage_list(struct storage *st, const char *prefix_uri, struct storage_entry **out, size_t *n,
                 struct bt_err *err) {
    struct entries v = {NULL, 0, 0};
    int rc = 0;
    const char *path = file_path(prefix_uri);
    *out = NULL;
    *n = 0;
    if (path) {
        /* The deepest directory the prefix names is where the walk starts. */
        char *dir = strdup(*path ? path : ".");
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
        else
            strcpy(dir, ".");
        const char *scheme = strncmp(prefix_uri, "file://", 7) == 0 ? "file://" : "";
        if (strcmp(dir, ".") == 0 && strncmp(path, "./", 2) != 0) {
            /* Relative prefix without a directory: walk "." and match "./"-less names. */
            struct buf want = BUF_INIT;
            buf_printf(&want, "./%s", path);
            rc = walk(".", want.p, scheme, &v, err);
            for (size_t i = 0; i < v.n; i++) { /* drop the "./" the walk added */
                char *u = v.e[i].uri;
                size_t sl = strlen(scheme);
                memmove(u + sl, u + sl + 2, strlen(u + sl + 2) + 1);
            }
            buf_free(&want);
        } else {
            rc = walk(dir, path, scheme, &v, err);
        }
        free(dir);
    } else if (strncmp(prefix_uri, "s3://", 5) == 0) {
        char bucket[64];
        const char *key;
        struct s3_listing l = {NULL, 0};
        if ((rc = split_s3(prefix_uri, bucket, &key, 0, err)) || (rc = get_s3(st, err))) goto fail;
        if ((rc = s3_list_objects(st->s3, bucket, key, &l, err))) goto fail;
        for (size_t i = 0; i < l.n; i++) {
            struct buf uri = BUF_INIT;
            buf_printf(&uri, "s3://%s/%s", bucket, l.items[i].key);
            entries_push(&v, buf_detach(&uri), l.items[i].etag ? strdup(l.items[i].etag) : NULL,
                         l.items[i].size);
        }
        s3_listing_free(&l);
    } else {
        rc = bad_scheme(prefix_uri, err);
    }
fail:
    if (rc) {
        storage_entries_free(v.e, v.n);
        return rc;
    }
    if (v.n > 1) qsort(v.e, v.n, sizeof(*v.e), entry_cmp);
    *out = v.e;
    *n = v.n;
    return 0;
}

void storage_entries_free(struct storage_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(e[i].uri);
        free(e[i].etag);
    }
    free(e);
}
