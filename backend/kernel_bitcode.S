/* backend/kernel_bitcode.S - embeds the kernels' LLVM bitcode, one module per architecture, in gpt2c. */
    .section .rodata
    .global gpt2c_kernels_x86_64_bc_begin
    .global gpt2c_kernels_x86_64_bc_end
    .global gpt2c_kernels_aarch64_bc_begin
    .global gpt2c_kernels_aarch64_bc_end
    .balign 16
gpt2c_kernels_x86_64_bc_begin:
    .incbin GPT2C_KERNELS_X86_64_BC
gpt2c_kernels_x86_64_bc_end:
    .byte 0
    .balign 16
gpt2c_kernels_aarch64_bc_begin:
    .incbin GPT2C_KERNELS_AARCH64_BC
gpt2c_kernels_aarch64_bc_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
