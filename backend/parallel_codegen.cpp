// backend/parallel_codegen.cpp - optimizes and emits a library's LLVM module in parallel partitions.
//
// LLVM optimizes and emits one module on one thread: for GPT-2 XL 3.4-3.9 s
// of a 3.6-4.1 s compile (2 cores). The generated functions hardly depend on each other:
// an entry point calls task functions only through pointers it hands to the
// runtime's parallel_for, and each task function inlines its own copy of a
// kernel. So they can be optimized apart: each partition gets some of them,
// made visible to the others as hidden symbols, and a private copy of every
// kernel and constant it uses. A partition is serialized and read back into
// its own LLVMContext, since one context is not safe to use from two threads.
// Copying only what a partition reaches also spares LLVM the kernel library's
// unused template instances, which one whole module carries into the pipeline.
#include "backend/parallel_codegen.h"

#include "backend/object_emitter.h"
#include "support/error.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <thread>

namespace gpt2c::backend {

namespace {

// What codegen.cpp generated (entry points, task functions, the library query),
// as opposed to the kernel library's functions they inline.
bool is_generated(const llvm::Function& fn) {
    return !fn.isDeclaration() && fn.getName().starts_with("gpt2c") && !fn.getName().starts_with("gpt2c_k_");
}

// A generated function's instructions plus those of every kernel function it
// reaches through direct calls: about its size once the kernels are inlined.
size_t estimated_size(const llvm::Function& root) {
    std::set<const llvm::Function*> seen{&root};
    std::vector<const llvm::Function*> work{&root};
    size_t size = 0;
    while (!work.empty()) {
        const llvm::Function* fn = work.back();
        work.pop_back();
        size += fn->getInstructionCount();
        for (const llvm::BasicBlock& block : *fn)
            for (const llvm::Instruction& inst : block)
                if (auto* call = llvm::dyn_cast<llvm::CallBase>(&inst))
                    if (const llvm::Function* callee = call->getCalledFunction())
                        if (!callee->isDeclaration() && !is_generated(*callee) && seen.insert(callee).second)
                            work.push_back(callee);
    }
    return size;
}

// Largest first, each to the least loaded partition (the lowest on a tie): the
// same assignment for the same module, whatever machine compiles it.
std::map<const llvm::Function*, int> assign_partitions(llvm::Module& module, int partitions) {
    std::vector<std::pair<size_t, const llvm::Function*>> roots;
    for (const llvm::Function& fn : module)
        if (is_generated(fn)) roots.push_back({estimated_size(fn), &fn});
    std::stable_sort(roots.begin(), roots.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<size_t> load(size_t(partitions), 0);
    std::map<const llvm::Function*, int> owner;
    for (const auto& [size, fn] : roots) {
        const size_t p = size_t(std::min_element(load.begin(), load.end()) - load.begin());
        load[p] += size;
        owner[fn] = int(p);
    }
    return owner;
}

// Every global value `roots` reach through their code and initializers.
std::set<const llvm::GlobalValue*> reachable(const std::vector<const llvm::GlobalValue*>& roots) {
    std::set<const llvm::GlobalValue*> seen(roots.begin(), roots.end());
    std::vector<const llvm::GlobalValue*> work(roots.begin(), roots.end());
    std::set<const llvm::Constant*> constants_seen;
    std::vector<const llvm::Value*> operands;
    auto visit = [&](const llvm::Value* value) {
        operands.assign(1, value);
        while (!operands.empty()) {
            const llvm::Value* v = operands.back();
            operands.pop_back();
            if (auto* gv = llvm::dyn_cast<llvm::GlobalValue>(v)) {
                if (seen.insert(gv).second) work.push_back(gv);
            } else if (auto* c = llvm::dyn_cast<llvm::Constant>(v)) {
                if (constants_seen.insert(c).second)
                    for (const llvm::Use& op : c->operands()) operands.push_back(op.get());
            }
        }
    };
    while (!work.empty()) {
        const llvm::GlobalValue* gv = work.back();
        work.pop_back();
        if (auto* fn = llvm::dyn_cast<llvm::Function>(gv)) {
            for (const llvm::BasicBlock& block : *fn)
                for (const llvm::Instruction& inst : block)
                    for (const llvm::Use& op : inst.operands())
                        if (llvm::isa<llvm::Constant>(op.get())) visit(op.get());
        } else if (auto* var = llvm::dyn_cast<llvm::GlobalVariable>(gv)) {
            if (var->hasInitializer()) visit(var->getInitializer());
        }
    }
    return seen;
}

// Declarations the partition's code does not use (CloneModule declares every
// global value it does not define).
void drop_unused_declarations(llvm::Module& module) {
    for (llvm::Function& fn : llvm::make_early_inc_range(module))
        if (fn.isDeclaration() && fn.use_empty()) fn.eraseFromParent();
    for (llvm::GlobalVariable& gv : llvm::make_early_inc_range(module.globals()))
        if (gv.isDeclaration() && gv.use_empty()) gv.eraseFromParent();
}

// Constants may be copied into every partition; a variable may not.
bool has_mutable_globals(const llvm::Module& module) {
    for (const llvm::GlobalVariable& gv : module.globals())
        if (!gv.isDeclaration() && !gv.isConstant() && !gv.getName().starts_with("llvm.")) return true;
    return false;
}

llvm::SmallVector<char, 0> bitcode_of(const llvm::Module& module) {
    llvm::SmallVector<char, 0> buffer;
    llvm::raw_svector_ostream out(buffer);
    llvm::WriteBitcodeToFile(module, out);
    return buffer;
}

std::unique_ptr<llvm::Module> read_bitcode(const llvm::SmallVector<char, 0>& bitcode, llvm::LLVMContext& context) {
    llvm::Expected<std::unique_ptr<llvm::Module>> module =
        llvm::parseBitcodeFile(llvm::MemoryBufferRef(llvm::StringRef(bitcode.data(), bitcode.size()), "partition"), context);
    if (!module) fail("internal error: a code partition does not read back: {}", llvm::toString(module.takeError()));
    return std::move(*module);
}

// The optimized partitions as one module, for --emit-llvm.
void write_linked_ir(const std::vector<llvm::SmallVector<char, 0>>& optimized, const std::string& path) {
    llvm::LLVMContext context;
    std::unique_ptr<llvm::Module> linked = read_bitcode(optimized[0], context);
    for (size_t i = 1; i < optimized.size(); ++i)
        if (llvm::Linker::linkModules(*linked, read_bitcode(optimized[i], context)))
            fail("internal error: the optimized code partitions do not link into one module for --emit-llvm");
    write_llvm_ir(*linked, path);
}

}  // namespace

std::vector<std::string> optimize_and_emit(llvm::Module& module, const TargetSpec& target, int opt_level,
                                           int partitions, int threads, const std::string& object_base,
                                           const std::string& emit_llvm) {
    int generated = 0;
    for (const llvm::Function& fn : module) generated += is_generated(fn);
    partitions = std::max(1, std::min(partitions, generated));
    if (has_mutable_globals(module)) partitions = 1;
    if (partitions == 1) {
        const std::string object = object_base + ".0.o";
        std::unique_ptr<llvm::TargetMachine> machine = create_target_machine(target);
        optimize_module(module, *machine, opt_level);
        if (!emit_llvm.empty()) write_llvm_ir(module, emit_llvm);
        try {
            emit_object_file(module, *machine, object);
        } catch (...) {
            std::remove(object.c_str());
            throw;
        }
        return {object};
    }

    for (llvm::Function& fn : module)
        if (is_generated(fn) && fn.hasLocalLinkage()) {
            fn.setLinkage(llvm::GlobalValue::ExternalLinkage);
            fn.setVisibility(llvm::GlobalValue::HiddenVisibility);  // linked across partitions, not exported
        }
    const std::map<const llvm::Function*, int> owner = assign_partitions(module, partitions);
    std::vector<llvm::SmallVector<char, 0>> bitcode;
    std::vector<std::unique_ptr<llvm::TargetMachine>> machines;
    std::vector<std::string> objects;
    for (int p = 0; p < partitions; ++p) {
        // Its generated functions and, copied, the kernels, constants and (with the
        // query) the descriptor they reach; nothing else gets a definition, so no
        // kernel for a CPU feature the target lacks reaches instruction selection.
        std::vector<const llvm::GlobalValue*> roots;
        for (const auto& [fn, q] : owner)
            if (q == p) roots.push_back(fn);
        const std::set<const llvm::GlobalValue*> defined = reachable(roots);
        llvm::ValueToValueMapTy map;
        std::unique_ptr<llvm::Module> part = llvm::CloneModule(module, map, [&](const llvm::GlobalValue* gv) {
            auto* fn = llvm::dyn_cast<llvm::Function>(gv);
            if (fn && is_generated(*fn)) return owner.at(fn) == p;
            return defined.count(gv) > 0;
        });
        drop_unused_declarations(*part);
        bitcode.push_back(bitcode_of(*part));
        machines.push_back(create_target_machine(target));
        objects.push_back(object_base + "." + std::to_string(p) + ".o");
    }

    std::vector<llvm::SmallVector<char, 0>> optimized(static_cast<size_t>(partitions));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(partitions));
    std::atomic<int> next{0};
    auto work = [&] {
        for (int p; (p = next++) < partitions;) {
            try {
                llvm::LLVMContext context;
                std::unique_ptr<llvm::Module> part = read_bitcode(bitcode[size_t(p)], context);
                optimize_module(*part, *machines[size_t(p)], opt_level);
                if (!emit_llvm.empty()) optimized[size_t(p)] = bitcode_of(*part);
                emit_object_file(*part, *machines[size_t(p)], objects[size_t(p)]);
            } catch (...) {
                errors[size_t(p)] = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, std::min(threads, partitions)); ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
    for (const std::exception_ptr& error : errors)
        if (error) {
            for (const std::string& object : objects) std::remove(object.c_str());
            std::rethrow_exception(error);
        }
    if (!emit_llvm.empty()) write_linked_ir(optimized, emit_llvm);
    return objects;
}

}  // namespace gpt2c::backend
