cpdef tuple decode_batch(list datagrams)
