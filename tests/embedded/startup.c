/* startup.c: the least a Cortex-M program needs to run under qemu-system-arm
 * (tests/embedded): a vector table, a reset handler that copies .data, zeroes
 * .bss and turns the FPU on, and ARM semihosting calls to print and to exit
 * (QEMU's -semihosting passes them to the host's stdout and exit status). */
#include <stdint.h>

extern uint32_t _data_load[], _data_start[], _data_end[], _bss_start[], _bss_end[], _stack_top[];
int main(void);
void reset_handler(void);

static void fault_handler(void) {
  for (;;) {}
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
  (void (*)(void))_stack_top, reset_handler, fault_handler, fault_handler, fault_handler, fault_handler, fault_handler,
};

static int semihost(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihost_write(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

void semihost_exit(int status) {
  uint32_t block[2] = {0x20026, (uint32_t)status}; /* ADP_Stopped_ApplicationExit, status */
  semihost(0x20, block);                            /* SYS_EXIT_EXTENDED: the status reaches the host */
  for (;;) {}
}

void reset_handler(void) {
  *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: full access to CP10 and CP11 (the FPU) */
  __asm__ volatile("dsb\n isb");
  for (uint32_t *s = _data_load, *d = _data_start; d < _data_end;) *d++ = *s++;
  for (uint32_t *d = _bss_start; d < _bss_end;) *d++ = 0;
  semihost_exit(main());
}
