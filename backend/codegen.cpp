// backend/codegen.cpp - emits gpt2c_forward / gpt2c_prepare and the library descriptor in LLVM IR.
#include "backend/codegen.h"

#include "backend/buffer_plan.h"
#include "backend/kernel_call.h"
#include "backend/kernel_library.h"
#include "support/error.h"

#include <gpt2c/abi.h>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <map>

namespace gpt2c::backend {

namespace {

// Byte offsets of the fields codegen reads; static_asserts keep them honest.
constexpr int kKernelArgsSize = 80;
constexpr int kKernelArgsT = 48, kKernelArgsS = 56, kKernelArgsL = 64, kKernelArgsLayer = 72;
constexpr int kForwardInputs = 32;  // tokens, positions, slots, logit_rows: 4 pointers (kInputNames order)
static_assert(offsetof(gpt2c_forward_args, raw_weights) == 0);
static_assert(offsetof(gpt2c_forward_args, prepared) == 8);
static_assert(offsetof(gpt2c_forward_args, kv_cache) == 16);
static_assert(offsetof(gpt2c_forward_args, arena) == 24);
static_assert(offsetof(gpt2c_forward_args, tokens) == kForwardInputs);
static_assert(offsetof(gpt2c_forward_args, positions) == kForwardInputs + 8);
static_assert(offsetof(gpt2c_forward_args, slots) == kForwardInputs + 16);
static_assert(offsetof(gpt2c_forward_args, logit_rows) == kForwardInputs + 24);
static_assert(offsetof(gpt2c_forward_args, n_rows) == 64);
static_assert(offsetof(gpt2c_forward_args, n_logits) == 72);
static_assert(offsetof(gpt2c_forward_args, kv_positions) == 80);
static_assert(offsetof(gpt2c_forward_args, logits) == 88);
static_assert(offsetof(gpt2c_forward_args, host) == 96);
static_assert(offsetof(gpt2c_prepare_args, raw_weights) == 0);
static_assert(offsetof(gpt2c_prepare_args, prepared) == 8);
static_assert(offsetof(gpt2c_prepare_args, host) == 16);
static_assert(offsetof(gpt2c_prepare_args, only) == 24);
static_assert(offsetof(gpt2c_host, context) == 0);
static_assert(offsetof(gpt2c_host, parallel_for) == 8);

class Codegen {
public:
    Codegen(const ir::Module& m, const BufferPlan& plan, const passes::TargetInfo& target, llvm::Module& out)
        : m_(m), plan_(plan), target_(target), out_(out), ctx_(out.getContext()), b_(ctx_) {
        i64_ = llvm::Type::getInt64Ty(ctx_);
        i32_ = llvm::Type::getInt32Ty(ctx_);
        f32_ = llvm::Type::getFloatTy(ctx_);
        ptr_ = llvm::PointerType::get(ctx_, 0);
        void_ = llvm::Type::getVoidTy(ctx_);
        task_type_ = llvm::FunctionType::get(void_, {ptr_, i64_, i64_}, false);
    }

    llvm::Function* emit_entry(const char* name, bool forward) {
        auto* fn = llvm::Function::Create(llvm::FunctionType::get(void_, {ptr_}, false),
                                          llvm::GlobalValue::InternalLinkage, name, out_);
        b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
        Frame f;
        f.args = fn->getArg(0);
        f.raw_weights = load_ptr(f.args, 0, "raw_weights");
        f.prepared = load_ptr(f.args, 8, "prepared");
        f.host = load_ptr(f.args, forward ? 96 : 16, "host");
        f.kargs = b_.CreateAlloca(llvm::ArrayType::get(i64_, kKernelArgsSize / 8), nullptr, "kargs");
        f.kargs->setAlignment(llvm::Align(16));
        if (forward) {
            f.kv_cache = load_ptr(f.args, 16, "kv_cache");
            f.arena = load_ptr(f.args, 24, "arena");
            for (int i = 0; i < 4; ++i) f.inputs[i] = load_ptr(f.args, kForwardInputs + 8 * i, kInputNames[i]);
            f.T = load_i64(f.args, 64, "T");
            f.L = load_i64(f.args, 72, "L");
            f.S = load_i64(f.args, 80, "S");
            f.logits = load_ptr(f.args, 88, "logits");
            store_i64(f.kargs, kKernelArgsT, f.T);
            store_i64(f.kargs, kKernelArgsS, f.S);
            store_i64(f.kargs, kKernelArgsL, f.L);
        } else {
            f.T = f.S = f.L = b_.getInt64(0);
            for (int off : {kKernelArgsT, kKernelArgsS, kKernelArgsL}) store_i64(f.kargs, off, f.T);
        }
        llvm::Value* only = forward ? nullptr : load_i64(f.args, 24, "only");
        for (size_t i = 0; i < m_.nodes.size(); ++i) {
            const ir::Node& node = m_.nodes[i];
            if (node.kind == ir::OpKind::Input || node.kind == ir::OpKind::Weight) continue;
            if (m_.is_constant(int(i)) == forward) continue;  // prepare computes exactly the constants
            if (forward) {
                emit_node(f, int(i));
                continue;
            }
            // if (only < 0 || only == p) compute prepared[p]
            llvm::Function* fn = b_.GetInsertBlock()->getParent();
            auto* run = llvm::BasicBlock::Create(ctx_, node.name, fn);
            auto* next = llvm::BasicBlock::Create(ctx_, node.name + ".next", fn);
            llvm::Value* wanted = b_.CreateOr(b_.CreateICmpSLT(only, b_.getInt64(0)),
                                              b_.CreateICmpEQ(only, b_.getInt64(plan_.location[i].index)));
            b_.CreateCondBr(wanted, run, next);
            b_.SetInsertPoint(run);
            emit_node(f, int(i));
            b_.CreateBr(next);
            b_.SetInsertPoint(next);
        }
        b_.CreateRetVoid();
        return fn;
    }

    void emit_descriptor(const std::string& metadata_json, llvm::Function* prepare, llvm::Function* forward) {
        auto* metadata = b_.CreateGlobalString(metadata_json, "gpt2c.metadata", 0, &out_);
        auto* desc_type = llvm::StructType::get(ctx_, {i32_, i32_, ptr_, ptr_, ptr_});
        auto* desc_init = llvm::ConstantStruct::get(
            desc_type, {b_.getInt32(GPT2C_ABI_VERSION), b_.getInt32(sizeof(gpt2c_library)), metadata, prepare, forward});
        auto* desc = new llvm::GlobalVariable(out_, desc_type, true, llvm::GlobalValue::InternalLinkage, desc_init,
                                              "gpt2c.descriptor");
        auto* query = llvm::Function::Create(llvm::FunctionType::get(ptr_, {i32_}, false),
                                             llvm::GlobalValue::ExternalLinkage, GPT2C_LIBRARY_QUERY_SYMBOL, out_);
        b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", query));
        llvm::Value* ok = b_.CreateICmpEQ(query->getArg(0), b_.getInt32(GPT2C_ABI_VERSION));
        b_.CreateRet(b_.CreateSelect(ok, desc, llvm::ConstantPointerNull::get(ptr_)));
    }

private:
    struct Frame {
        llvm::Value *args, *raw_weights, *prepared, *host, *kv_cache = nullptr, *arena = nullptr;
        llvm::Value* inputs[4] = {nullptr, nullptr, nullptr, nullptr};  // kInputNames order
        llvm::Value *logits = nullptr, *T, *S, *L;
        llvm::AllocaInst* kargs;
    };

    const ir::Module& m_;
    const BufferPlan& plan_;
    const passes::TargetInfo target_;  // which feature-specific kernels the target may call
    llvm::Module& out_;
    llvm::LLVMContext& ctx_;
    llvm::IRBuilder<> b_;
    llvm::Type *i64_, *i32_, *f32_, *void_;
    llvm::PointerType* ptr_;
    llvm::FunctionType* task_type_;
    std::map<std::string, llvm::Function*> tasks_;  // dedup of specialized task functions

    llvm::Value* field(llvm::Value* base, int offset) { return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), base, offset); }
    llvm::Value* load_ptr(llvm::Value* base, int offset, const char* name) {
        return b_.CreateLoad(ptr_, field(base, offset), name);
    }
    llvm::Value* load_i64(llvm::Value* base, int offset, const char* name) {
        return b_.CreateLoad(i64_, field(base, offset), name);
    }
    void store_i64(llvm::Value* base, int offset, llvm::Value* v) { b_.CreateStore(v, field(base, offset)); }

    llvm::Function* kernel(const std::string& name) {
        llvm::Function* fn = out_.getFunction(name);
        if (!fn) fail("internal error: kernel {} is missing from the kernel bitcode", name);
        return fn;
    }

    llvm::Value* buffer(const Frame& f, int node) {
        if (node < 0) return llvm::ConstantPointerNull::get(ptr_);
        const BufferLocation& loc = plan_.location[node];
        auto table = [&](llvm::Value* base) {
            return b_.CreateLoad(ptr_, b_.CreateConstInBoundsGEP1_64(ptr_, base, loc.index), m_.nodes[node].name);
        };
        switch (loc.storage) {
        case Storage::Input: return f.inputs[loc.index];
        case Storage::RawWeight: return table(f.raw_weights);
        case Storage::Prepared: return table(f.prepared);
        case Storage::KvCache: return f.kv_cache;
        case Storage::Arena: return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), f.arena, loc.index, m_.nodes[node].name);
        case Storage::Logits: return f.logits;
        }
        return nullptr;
    }

    // Converts scalars to the kernel's parameter types, reading runtime
    // symbols either from the frame (in the caller) or from KernelArgs (in a task).
    std::vector<llvm::Value*> scalar_values(const std::vector<Scalar>& scalars, llvm::Function* callee, unsigned first,
                                            const std::function<llvm::Value*(const Scalar&)>& symbol) {
        std::vector<llvm::Value*> values;
        for (size_t i = 0; i < scalars.size(); ++i) {
            llvm::Type* type = callee->getFunctionType()->getParamType(first + unsigned(i));
            const Scalar& s = scalars[i];
            if (type->isFloatTy()) {
                if (s.kind != Scalar::Kind::Float) fail("internal error: {} parameter {} expects a float", callee->getName().str(), i);
                values.push_back(llvm::ConstantFP::get(f32_, s.f));
            } else if (s.kind == Scalar::Kind::Int) {
                values.push_back(b_.getInt64(s.i));
            } else if (s.kind == Scalar::Kind::Float) {
                fail("internal error: {} parameter {} expects an integer", callee->getName().str(), i);
            } else {
                values.push_back(symbol(s));
            }
        }
        return values;
    }

    static std::string task_key(const KernelCall& call) {
        std::string key = call.kernel;
        for (const Scalar& s : call.scalars) {
            key += "|" + std::to_string(int(s.kind));
            if (s.kind == Scalar::Kind::Int || s.kind == Scalar::Kind::Float)  // a Layer's value is not baked in
                key += ":" + std::to_string(s.i) + ":" + std::to_string(s.f);
        }
        return key;
    }

    // void task(KernelArgs* a, i64 begin, i64 end) { gpt2c_k_NAME(a, begin, end, <constants>); }
    llvm::Function* task_function(const KernelCall& call) {
        std::string key = task_key(call);
        if (auto it = tasks_.find(key); it != tasks_.end()) return it->second;
        llvm::Function* run = kernel("gpt2c_k_" + call.kernel);
        auto* fn = llvm::Function::Create(task_type_, llvm::GlobalValue::InternalLinkage,
                                          "gpt2c.task." + call.kernel, out_);
        llvm::IRBuilder<>::InsertPointGuard guard(b_);
        b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
        llvm::Value* a = fn->getArg(0);
        auto symbol = [&](const Scalar& s) -> llvm::Value* {
            switch (s.kind) {
            case Scalar::Kind::T: return load_i64(a, kKernelArgsT, "T");
            case Scalar::Kind::S: return load_i64(a, kKernelArgsS, "S");
            case Scalar::Kind::L: return load_i64(a, kKernelArgsL, "L");
            default: return load_i64(a, kKernelArgsLayer, "layer");
            }
        };
        std::vector<llvm::Value*> args{a, fn->getArg(1), fn->getArg(2)};
        for (llvm::Value* v : scalar_values(call.scalars, run, 3, symbol)) args.push_back(v);
        b_.CreateCall(run, args);
        b_.CreateRetVoid();
        tasks_[key] = fn;
        return fn;
    }

    void emit_node(const Frame& f, int node) {
        KernelCall call = describe_kernel_call(m_, node, target_);
        if (call.pointers.size() > 6) fail("internal error: kernel {} takes more than 6 buffers", call.kernel);
        for (size_t i = 0; i < call.pointers.size(); ++i)
            b_.CreateStore(buffer(f, call.pointers[i]), field(f.kargs, int(8 * i)));
        auto symbol = [&](const Scalar& s) -> llvm::Value* {
            switch (s.kind) {
            case Scalar::Kind::T: return f.T;
            case Scalar::Kind::S: return f.S;
            case Scalar::Kind::L: return f.L;
            default: return b_.getInt64(s.i);
            }
        };
        int layers = 0;
        for (const Scalar& s : call.scalars)
            if (s.kind == Scalar::Kind::Layer) {
                store_i64(f.kargs, kKernelArgsLayer, b_.getInt64(s.i));
                if (++layers > 1) fail("internal error: kernel {} takes more than one Layer scalar", call.kernel);
            }
        llvm::Function* count_fn = kernel("gpt2c_k_" + call.kernel + "_tasks");
        std::vector<llvm::Value*> count_args{f.kargs};
        for (llvm::Value* v : scalar_values(call.scalars, count_fn, 1, symbol)) count_args.push_back(v);
        llvm::Value* n_tasks = b_.CreateCall(count_fn, count_args, m_.nodes[node].name + ".tasks");
        llvm::Value* context = load_ptr(f.host, 0, "host.context");
        llvm::Value* parallel_for = load_ptr(f.host, 8, "host.parallel_for");
        auto* pf_type = llvm::FunctionType::get(void_, {ptr_, ptr_, ptr_, i64_}, false);
        b_.CreateCall(pf_type, parallel_for, {context, task_function(call), f.kargs, n_tasks});
    }
};

// Kernels become internal and always inlined, so each specialized task
// function gets its own copy folded for its constants, and GlobalDCE drops
// the generic bodies.
void prepare_kernels(llvm::Module& module, const TargetSpec& target) {
    for (llvm::Function& fn : module) {
        if (fn.isDeclaration()) continue;
        if (fn.getName().starts_with("gpt2c_k_")) {
            fn.setLinkage(llvm::GlobalValue::InternalLinkage);
            fn.removeFnAttr(llvm::Attribute::NoInline);
            fn.removeFnAttr(llvm::Attribute::OptimizeNone);
            fn.addFnAttr(llvm::Attribute::AlwaysInline);
        }
    }
    // llvm.used keeps GPT2C_KERNEL functions alive; the generated code is their only user now.
    if (llvm::GlobalVariable* used = module.getGlobalVariable("llvm.used")) used->eraseFromParent();
    if (llvm::GlobalVariable* used = module.getGlobalVariable("llvm.compiler.used")) used->eraseFromParent();
    for (llvm::GlobalVariable& gv : module.globals())
        if (!gv.isDeclaration() && !gv.getName().starts_with("llvm.")) gv.setLinkage(llvm::GlobalValue::InternalLinkage);
    (void)target;
}

// Drops the kernels this model does not call. Besides saving LLVM work, it keeps
// kernels written for CPU features the target lacks (linear_bf16dot) from
// reaching instruction selection, at any LLVM optimization level.
void erase_unused_functions(llvm::Module& module) {
    for (bool erased = true; erased;) {
        erased = false;
        for (llvm::Function& fn : llvm::make_early_inc_range(module))
            if (fn.hasLocalLinkage() && fn.use_empty()) {
                fn.eraseFromParent();
                erased = true;
            }
    }
}

void set_target_attributes(llvm::Module& module, const TargetSpec& target) {
    for (llvm::Function& fn : module) {
        if (fn.isDeclaration()) continue;
        fn.addFnAttr("target-cpu", target.cpu);
        if (target.features.empty()) fn.removeFnAttr("target-features");
        else fn.addFnAttr("target-features", target.features);
        fn.removeFnAttr("tune-cpu");
        // Server CPUs default to 256-bit auto-vectorization; the kernels are written for full-width vectors.
        if (target.features.find("+avx512f") != std::string::npos) fn.addFnAttr("prefer-vector-width", "512");
    }
}

}  // namespace

std::unique_ptr<llvm::Module> generate_llvm_module(const ir::Module& module, const BufferPlan& plan,
                                                   const TargetSpec& target, const std::string& metadata_json,
                                                   llvm::LLVMContext& context) {
    std::unique_ptr<llvm::Module> out = load_kernel_module(context, arch_of_triple(target.triple));
    out->setModuleIdentifier(module.name);
    prepare_kernels(*out, target);
    Codegen codegen(module, plan, pass_target_info(target), *out);
    llvm::Function* prepare = codegen.emit_entry("gpt2c_prepare", false);
    llvm::Function* forward = codegen.emit_entry("gpt2c_forward", true);
    // The entry points are long straight lines of argument stores and parallel_for
    // calls (a dozen per layer): nothing to vectorize, but the SLP vectorizer's
    // dependence scheduling on such blocks took over a second for 48 layers.
    for (llvm::Function* entry : {prepare, forward}) entry->addFnAttr(llvm::Attribute::NoImplicitFloat);
    codegen.emit_descriptor(metadata_json, prepare, forward);
    erase_unused_functions(*out);
    set_target_attributes(*out, target);
    return out;
}

}  // namespace gpt2c::backend
