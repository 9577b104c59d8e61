/* backend/kernel_bitcode.S - embeds the kernels' LLVM bitcode in the gpt2c binary. */
    .section .rodata
    .global gpt2c_kernels_bc_begin
    .global gpt2c_kernels_bc_end
    .balign 16
gpt2c_kernels_bc_begin:
    .incbin GPT2C_KERNELS_BC
gpt2c_kernels_bc_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
