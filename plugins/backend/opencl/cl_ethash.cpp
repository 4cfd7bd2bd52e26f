#include "cl_ethash.hpp"

#include <chrono>
#include <cstring>
#include <sstream>

namespace otedama::opencl_backend {
namespace {

std::string mib(uint64_t bytes) {
    std::ostringstream s;
    s.precision(1);
    s << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
    return s.str();
}

}  // namespace

void check_dataset_fits(const DeviceDesc& desc, uint64_t cache_bytes, uint64_t dag_bytes, const std::string& what) {
    const std::string where = desc.id + " (" + desc.name + ")";
    const bool too_big_for_one = desc.max_allocation != 0 && dag_bytes > desc.max_allocation;
    const bool too_big_in_all = desc.global_memory != 0 && cache_bytes + dag_bytes > desc.global_memory;
    if (too_big_for_one || too_big_in_all) {
        throw sdk::Error(OTD_ERR_NO_MEMORY,
                         where + ": " + what + " does not fit: it needs " + std::to_string(dag_bytes) + " bytes (" + mib(dag_bytes) +
                             ") in one buffer plus " + std::to_string(cache_bytes) + " bytes (" + mib(cache_bytes) +
                             ") of light cache; the device allows " + std::to_string(desc.max_allocation) +
                             " bytes per buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE) and has " + std::to_string(desc.global_memory) +
                             " bytes in all (CL_DEVICE_GLOBAL_MEM_SIZE)");
    }
}

DeviceDataset::DeviceDataset(Runtime& runtime, std::shared_ptr<const ethash::LightCache> cache, uint32_t parents, std::string what)
    : runtime_(runtime), cache_(std::move(cache)), parents_(parents), where_(runtime.desc().id + " (" + runtime.desc().name + ")") {
    if (parents_ == 0 || parents_ % 16 != 0) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": " + std::to_string(parents_) +
                                                  " dataset parents: the DAG kernel takes a positive multiple of 16");
    }
    items_ = cache_->dataset_bytes() / 64;
    check_dataset_fits(runtime_.desc(), cache_->bytes(), bytes(), what);
    cl_int st = CL_SUCCESS;
    cache_buffer_ = clCreateBuffer(runtime_.context(), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, cache_->bytes(),
                                   const_cast<ethash::Item*>(cache_->items()), &st);
    check(st, where_, "clCreateBuffer(light cache)");
    dag_ = clCreateBuffer(runtime_.context(), CL_MEM_READ_WRITE, bytes(), nullptr, &st);
    if (st != CL_SUCCESS) {
        clReleaseMemObject(cache_buffer_);
        throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": allocating " + what + " (" + std::to_string(bytes()) + " bytes) failed: " +
                                                cl_error_name(st));
    }
}

DeviceDataset::~DeviceDataset() {
    clFinish(runtime_.queue());
    if (dag_ != nullptr) clReleaseMemObject(dag_);
    if (cache_buffer_ != nullptr) clReleaseMemObject(cache_buffer_);
}

void DeviceDataset::generate_items(cl_kernel dag_kernel, uint64_t first_item, uint32_t item_count) {
    if (first_item + item_count > items_) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": DAG items past the end");
    cl_command_queue queue = runtime_.queue();
    const cl_uint cache_items = cache_->item_count();
    const auto first = static_cast<cl_uint>(first_item);
    const cl_uint count = item_count;
    check(clSetKernelArg(dag_kernel, 0, sizeof(cl_mem), &cache_buffer_), where_, "clSetKernelArg(cache)");
    check(clSetKernelArg(dag_kernel, 1, sizeof cache_items, &cache_items), where_, "clSetKernelArg(cache_items)");
    check(clSetKernelArg(dag_kernel, 2, sizeof(cl_mem), &dag_), where_, "clSetKernelArg(dag)");
    check(clSetKernelArg(dag_kernel, 3, sizeof first, &first), where_, "clSetKernelArg(first)");
    check(clSetKernelArg(dag_kernel, 4, sizeof count, &count), where_, "clSetKernelArg(count)");
    check(clSetKernelArg(dag_kernel, 5, sizeof parents_, &parents_), where_, "clSetKernelArg(parents)");
    const size_t global = (size_t{count} + 63) / 64 * 64;
    check(clEnqueueNDRangeKernel(queue, dag_kernel, 1, nullptr, &global, nullptr, 0, nullptr, nullptr), where_,
          "launching the DAG kernel");
    check(clFinish(queue), where_, "generating DAG items");
}

bool DeviceDataset::generate(cl_kernel dag_kernel, const volatile uint32_t* abort, uint32_t chunk,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
    cl_command_queue queue = runtime_.queue();
    const cl_uint cache_items = cache_->item_count();
    while (generated_ < items_) {
        if (abort != nullptr && *abort != 0) return false;
        const auto started = std::chrono::steady_clock::now();
        const cl_uint first = static_cast<cl_uint>(generated_);
        const cl_uint count = static_cast<cl_uint>(std::min<uint64_t>(chunk, items_ - generated_));
        check(clSetKernelArg(dag_kernel, 0, sizeof(cl_mem), &cache_buffer_), where_, "clSetKernelArg(cache)");
        check(clSetKernelArg(dag_kernel, 1, sizeof cache_items, &cache_items), where_, "clSetKernelArg(cache_items)");
        check(clSetKernelArg(dag_kernel, 2, sizeof(cl_mem), &dag_), where_, "clSetKernelArg(dag)");
        check(clSetKernelArg(dag_kernel, 3, sizeof first, &first), where_, "clSetKernelArg(first)");
        check(clSetKernelArg(dag_kernel, 4, sizeof count, &count), where_, "clSetKernelArg(count)");
        check(clSetKernelArg(dag_kernel, 5, sizeof parents_, &parents_), where_, "clSetKernelArg(parents)");
        const size_t global = (size_t{count} + 63) / 64 * 64;
        check(clEnqueueNDRangeKernel(queue, dag_kernel, 1, nullptr, &global, nullptr, 0, nullptr, nullptr), where_,
              "launching the DAG kernel");
        check(clFinish(queue), where_, "generating the DAG");
        generated_ += count;
        seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (progress) progress(generated_, items_);
    }
    return true;
}

std::vector<ethash::Item> DeviceDataset::read(uint64_t first, uint32_t count) const {
    std::vector<ethash::Item> out(count);
    if (count == 0) return out;
    if (first + count > items_) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": DAG items past the end");
    check(clEnqueueReadBuffer(runtime_.queue(), dag_, CL_TRUE, first * 64, uint64_t{count} * 64, out.data(), 0, nullptr, nullptr),
          where_, "reading DAG items");
    return out;
}

}  // namespace otedama::opencl_backend
