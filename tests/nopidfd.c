/*
 * nopidfd: run a command on which pidfd_open(2) fails with ENOSYS, as on
 * Linux before 5.3 or under valgrind 3.19, by a seccomp filter that the
 * command and its children inherit.
 *
 *	nopidfd command [arg ...]
 */

#include "config.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <err.h>
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	/* system calls from 424 on have one number on every architecture */
	struct sock_filter	 filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog = {
		sizeof(filter) / sizeof(filter[0]), filter
	};

	if (argc < 2)
		errx(2, "usage: nopidfd command [arg ...]");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		err(2, "PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		err(2, "PR_SET_SECCOMP");
	execvp(argv[1], argv + 1);
	err(127, "%s", argv[1]);
}
