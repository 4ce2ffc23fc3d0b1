/* SPDX-License-Identifier: Apache-2.0
 * /init of the VM tier's initramfs (tests/vm/boot/make-boot.py packs it): loads the modules
 * listed in /modules.list, in that order, mounts root= read-only and execs init= on it.
 *
 * Why not the distribution's initramfs: under TCG its udev coldplug, scripts and fsck cost
 * ~5 s of emulated CPU a bookworm boot and ~16 s a sid one, for a VM whose root is always
 * /dev/vda (virtio-blk, ext4) and whose early modules are a fixed list. The real root then
 * boots as it would from any initramfs: systemd mounts /proc, /sys and /run itself, and
 * systemd-fsck-root checks the root it finds read-only.
 *
 * Kernel command line read: root= (required), init= (default /sbin/init), rw (default ro).
 * Any failure is printed to the console and ends PID 1: the kernel panics, panic=1 reboots,
 * and qemu's -no-reboot turns that into its exit, which the host reports as no result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fail(const char* what, const char* arg) {
    fprintf(stderr, "eksvm-initramfs: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    return 1;
}

/* The word of the command line that is KEY or begins with KEY=, and its length; NULL if
 * none. Words hold no spaces or quotes here (run-scenario.sh writes the line). */
static const char* cmdline_word(const char* cmdline, const char* key, size_t* len) {
    size_t klen = strlen(key);
    for (const char* p = cmdline; *p;) {
        while (*p == ' ' || *p == '\n') p++;
        size_t n = strcspn(p, " \n");
        if (n >= klen && strncmp(p, key, klen) == 0 && (n == klen || p[klen] == '=')) {
            *len = n;
            return p;
        }
        p += n;
    }
    return NULL;
}

/* The value of KEY= copied into OUT (cut to fit); 0 if absent. */
static int cmdline_value(const char* cmdline, const char* key, char* out, size_t size) {
    size_t n, klen = strlen(key);
    const char* word = cmdline_word(cmdline, key, &n);
    if (!word || n == klen) return 0;
    n -= klen + 1;
    if (n >= size) n = size - 1;
    memcpy(out, word + klen + 1, n);
    out[n] = '\0';
    return 1;
}

static int load_modules(void) {
    FILE* list = fopen("/modules.list", "r");
    if (!list) return fail("cannot open", "/modules.list");
    char name[256];
    while (fgets(name, sizeof name, list)) {
        name[strcspn(name, "\n")] = '\0';
        if (!*name) continue;
        int fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail("cannot open", name);
        /* EEXIST: built in or loaded already; either way it is there */
        if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) return fail("cannot load", name);
        close(fd);
        unlink(name); /* the initramfs stays in memory after the switch: keep it small */
    }
    fclose(list);
    unlink("/modules.list");
    return 0;
}

int main(int argc, char** argv) {
    (void)argc;
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, "mode=0755") != 0) return fail("cannot mount", "/dev");
    if (mount("proc", "/proc", "proc", 0, NULL) != 0) return fail("cannot mount", "/proc");
    char cmdline[4096] = "";
    FILE* f = fopen("/proc/cmdline", "r");
    if (!f || !fgets(cmdline, sizeof cmdline, f)) return fail("cannot read", "/proc/cmdline");
    fclose(f);
    char root[256], init[256] = "/sbin/init";
    if (!cmdline_value(cmdline, "root", root, sizeof root)) {
        errno = EINVAL;
        return fail("no root= on the kernel command line", NULL);
    }
    cmdline_value(cmdline, "init", init, sizeof init);
    size_t n;
    const char* rw = cmdline_word(cmdline, "rw", &n);
    unsigned long flags = rw && n == 2 ? 0 : MS_RDONLY;

    if (load_modules() != 0) return 1;

    /* virtio-blk probes while its module loads, so the node is normally there already;
     * wait up to 30 s in case a probe completes later */
    struct stat st;
    for (int i = 0; stat(root, &st) != 0; i++) {
        if (i == 3000) return fail("no root device", root);
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    if (mount(root, "/root", "ext4", flags, NULL) != 0) return fail("cannot mount root", root);

    /* What the real root's PID 1 starts from: its own /dev (systemd keeps a mounted one),
     * no /proc (as the distribution's initramfs leaves it, and preinit mounts its own) */
    umount("/proc");
    if (mount("/dev", "/root/dev", NULL, MS_MOVE, NULL) != 0) return fail("cannot move", "/dev");
    unlink("/init");
    if (chdir("/root") != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0)
        return fail("cannot switch to the root on", root);
    argv[0] = init;
    execv(init, argv);
    return fail("cannot run", init);
}
