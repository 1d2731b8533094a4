/*
 * Linked into executables published for linux-arm64-dotprod. The NativeAOT runtime checks the instruction sets it was
 * compiled for when it starts, and on a core without dot product stops with "The required instruction sets are not
 * supported by the current CPU." and an abort. This constructor runs before the runtime does (from .init_array, before
 * main) and says which instruction set is missing and what to publish instead, then exits with status 1.
 * No headers: the declarations are glibc's, so the file compiles against any arm64 sysroot, or none.
 */
unsigned long getauxval(unsigned long type);
long write(int fd, const void *buffer, unsigned long count);
void _exit(int status);

#define AT_HWCAP 16
#define HWCAP_ASIMDDP (1UL << 20) /* linux/arch/arm64/include/uapi/asm/hwcap.h */

__attribute__((constructor)) static void require_dot_product(void)
{
    if ((getauxval(AT_HWCAP) & HWCAP_ASIMDDP) == 0)
    {
        static const char message[] =
            "MODELGEN_PROGRAM_NAME: this CPU has no dot product (ARMv8.2-A's DotProd), which this executable was built for "
            "(modelgen publish --cpu linux-arm64-dotprod); publish it with --cpu linux-arm64 to run here\n";
        write(2, message, sizeof message - 1);
        _exit(1);
    }
}
