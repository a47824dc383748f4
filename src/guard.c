/*
 * guard.c: the --limit policy.  After each sample the loop hands it the
 * watched memory and the time; it answers what to do (nothing, the limit
 * signal to the root, SIGKILL to the largest member that is not the root)
 * and at what interval it wants the next samples.  The loop does it.
 *
 * It signals once per crossing: again only after memory has gone back
 * below the limit, so work that ignores the signal is not flooded.  Near
 * the limit (from 80% of it), or on course to get there within two of the
 * user's intervals, it asks for a fast schedule, and for the user's again
 * once memory has stayed below 75% for two of them.
 */

#include "config.h"

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memwatch.h"

#define NEAR_PCT	80	/* "near": from 80% of the limit up */
#define FAR_PCT		75	/* back to the user's schedule below this */
#define AHEAD		2	/* ticks of the user's looked ahead */

/* Where the fast schedule starts and ends: below the first limit to act. */
static void
set_bounds(struct guard *g)
{
	uint64_t	 first = g->limit != 0 ? g->limit : g->kill;

	g->near = first / 100 * NEAR_PCT;
	g->far = first / 100 * FAR_PCT;
	if (!guard_on(g))
		g->interval_ns = g->user_ns;
}

/*
 * Set g up without a limit: the kill limit in bytes (0: off), the limit
 * signal, the user's sampling interval and the one wanted near the limit.
 */
void
guard_init(struct guard *g, uint64_t kill, int signo, int64_t interval_ns,
    int64_t fast_ns)
{
	memset(g, 0, sizeof(*g));
	g->kill = kill;
	g->signo = signo;
	g->user_ns = g->interval_ns = interval_ns;
	g->fast_ns = fast_ns;
	set_bounds(g);
}

/*
 * Set the limit to spec, a size or a percentage of what process pid may
 * use, or "off"; say what it is on stderr unless quiet.  Return 0, or an
 * exit status after a warning, the limit as it was.
 */
int
guard_limit(struct guard *g, const char *spec, pid_t pid, bool quiet)
{
	struct limit	 l = { 0 };
	char		 what[160], kill[32];
	const char	*errstr;
	int		 error;

	if (strcmp(spec, "off") != 0 &&
	    parse_limit(spec, &l.bytes, &l.ppm, &errstr) == -1) {
		warnx("limit %s: %s", spec, errstr);
		return EXIT_USAGE;
	}
	if (l.ppm != 0 && (error = limit_resolve(pid, l.ppm, &l)) != 0) {
		errno = error;
		warn("limit %s: /proc/meminfo", spec);
		return EXIT_INTERNAL;
	}
	limit_describe(&l, what, sizeof(what));
	if (g->kill != 0 && g->kill <= l.bytes) {
		format_size(kill, sizeof(kill), g->kill);
		warnx("limit-kill %s is not above the limit %s", kill, what);
		return EXIT_USAGE;
	}
	g->limit = l.bytes;
	(void)strlcpy(g->what, what, sizeof(g->what));
	g->signalled = false;
	set_bounds(g);
	if (!quiet)
		fprintf(stderr, "memwatch: limit %s\n", l.bytes != 0 ? what :
		    "off");
	return 0;
}

/*
 * A request from the IPython snippet, read from its file: a limit as
 * guard_limit() takes it, or "default " and one, taken only when no limit
 * is set.  A bad one is said and ignored.
 */
void
guard_request(struct guard *g, const char *line, pid_t pid, bool quiet)
{
	if (strncmp(line, "default ", 8) == 0) {
		if (g->limit != 0)
			return;
		line += 8;
	}
	(void)guard_limit(g, line, pid, quiet);
}

/* Whether the guard has anything to do. */
bool
guard_on(const struct guard *g)
{
	return g->limit != 0 || g->kill != 0;
}

/*
 * The memory of sample s that the limit is for: RSS, or with pss PSS.
 * PSS is read at a bounded rate, not every tick: between readings it is
 * the last reading plus what RSS has gained since, as new pages are the
 * process's own.
 */
static uint64_t
memory(struct guard *g, const struct sample *s, bool pss)
{
	if (!pss)
		return s->rss;
	if (s->pss != NO_VALUE) {
		g->pss = s->pss;
		g->pss_rss = s->rss;
	}
	if (g->pss_rss == 0)
		return s->rss;		/* no reading yet */
	if (s->rss >= g->pss_rss)
		return g->pss + (s->rss - g->pss_rss);
	return g->pss > g->pss_rss - s->rss ? g->pss - (g->pss_rss - s->rss) :
	    0;
}

/*
 * Sample s, of PSS too if pss.  Store the memory it is judged by in *mem_p;
 * return what to do, GUARD_SIGNAL and/or GUARD_KILL or 0, and set
 * g->interval_ns to the interval wanted next.
 */
int
guard_check(struct guard *g, const struct sample *s, bool pss, uint64_t *mem_p)
{
	uint64_t	 mem, ahead;
	int		 act = 0;

	*mem_p = ahead = mem = memory(g, s, pss);
	/* where memory will be two of the user's ticks on, at today's rate */
	if (g->seen && mem > g->last && s->t_ns > g->last_ns)
		ahead = mem + (uint64_t)((double)(mem - g->last) *
		    (double)(AHEAD * g->user_ns) / (double)(s->t_ns - g->last_ns));
	g->seen = true;
	g->last = mem;
	g->last_ns = s->t_ns;

	/*
	 * Back to the user's schedule only once memory has kept away for two
	 * of the user's intervals: work that grows in steps shows no growth
	 * at most fast ticks.
	 */
	if (g->user_ns > g->fast_ns) {
		if (mem >= g->near || ahead >= g->near) {
			g->interval_ns = g->fast_ns;
			g->near_ns = s->t_ns;
		} else if (mem < g->far &&
		    s->t_ns - g->near_ns >= AHEAD * g->user_ns)
			g->interval_ns = g->user_ns;
	}
	if (g->limit != 0) {
		if (mem < g->limit)
			g->signalled = false;
		else if (!g->signalled) {
			g->signalled = true;
			act |= GUARD_SIGNAL;
		}
	}
	if (g->kill != 0) {
		if (mem < g->kill)
			g->killed = false;
		else if (!g->killed) {
			g->killed = true;
			act |= GUARD_KILL;
		}
	}
	return act;
}

/*
 * Say on stderr, whatever -q says, that memory mem is over a limit and what
 * is done about it: act is GUARD_SIGNAL (the limit signal to pid) or
 * GUARD_KILL (SIGKILL to pid, or to nobody if pid is 0: the root is the
 * only process).
 */
void
guard_warn(const struct guard *g, int act, uint64_t mem, pid_t pid)
{
	char		 m[32], l[32], sig[16];
	const char	*name;

	format_size(m, sizeof(m), mem);
	if (act == GUARD_SIGNAL) {
		/* realtime signals have no name of their own */
		if ((name = sigabbrev_np(g->signo)) != NULL)
			(void)snprintf(sig, sizeof(sig), "SIG%s", name);
		else
			(void)snprintf(sig, sizeof(sig), "signal %d", g->signo);
		warnx("%s, over the limit of %s: interrupting pid %d (%s)",
		    m, g->what, (int)pid, sig);
		return;
	}
	format_size(l, sizeof(l), g->kill);
	if (pid == 0)
		warnx("%s, over the kill limit of %s: no process but the "
		    "command's own to kill", m, l);
	else
		warnx("%s, over the kill limit of %s: killing pid %d "
		    "(SIGKILL), the largest process", m, l, (int)pid);
}

/*
 * Parse s as a signal: a name with or without "SIG" ("INT", "SIGTERM"),
 * or a number.  Return it, or 0 if s names none.
 */
int
parse_signal(const char *s)
{
	const char	*name, *errstr;
	int		 n;

	n = (int)strtonum(s, 1, NSIG - 1, &errstr);
	if (errstr == NULL)
		return n;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (n = 1; n < NSIG; n++)
		if ((name = sigabbrev_np(n)) != NULL &&
		    strcasecmp(s, name) == 0)
			return n;
	return 0;
}
