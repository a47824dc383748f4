/*
 * settle.h: what the workloads of the tests and of bench/spikes share.
 */

#include <sys/types.h>

void	 sleep_ms(long);
void	 settle(pid_t, int);
