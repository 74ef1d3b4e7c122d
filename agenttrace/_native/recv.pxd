# Typed interface of recv.pyx: the socket declarations it needs, the state its
# receive thread works on without the GIL, and the Receiver's C fields.
from libc.stdint cimport uint32_t, uint64_t
from posix.time cimport timespec
from posix.uio cimport iovec

from agenttrace._native.ring cimport RingC


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    struct msghdr:
        void *msg_name
        socklen_t msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len
    struct cmsghdr:
        size_t cmsg_len
        int cmsg_level
        int cmsg_type
    cmsghdr *CMSG_FIRSTHDR(msghdr *m)
    cmsghdr *CMSG_NXTHDR(msghdr *m, cmsghdr *c)
    unsigned char *CMSG_DATA(cmsghdr *c)
    size_t CMSG_SPACE(size_t n)
    int recvmmsg(int fd, mmsghdr *msgs, unsigned int n, int flags, timespec *timeout)
    enum:
        MSG_DONTWAIT
        MSG_TRUNC
        SOL_SOCKET
        SO_RXQ_OVFL
        AF_INET
        AF_INET6


cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    int poll(pollfd *fds, unsigned long nfds, int timeout)
    enum:
        POLLIN
        POLLNVAL


cdef struct SeqSlot:
    uint64_t sender
    uint64_t last_seen        # 0 = empty slot
    uint32_t next_seq


# The sequence table every receiver of a collector shares (SenderTable owns it).
cdef struct SeqShared:
    uint64_t lock             # spin claim (at_try_lock), held for one lookup
    uint64_t tick
    uint64_t nsets
    SeqSlot *table


cdef class SenderTable:
    cdef SeqShared s


cdef struct RecvState:
    int fd
    int stop
    int fatal_errno
    int last_errno
    unsigned int batch
    int nrings
    uint64_t rr
    uint64_t max_record
    SeqShared *seq
    RingC **rings
    char *tried
    mmsghdr *msgs
    iovec *iovs
    char *ctrl
    char *scratch
    char *names               # source addresses (UDP with an allow list), NAME_SPACE per slot
    uint64_t *rules           # allow list: net_hi, net_lo, mask_hi, mask_lo per network; NULL = all
    int nrules
    uint64_t counters[15]   # one per name of recv_py.COUNTERS


cdef class Receiver:
    cdef RecvState st
    cdef SenderTable _senders
    cdef list _given
    cdef list _rings
    cdef list _attached
    cdef object _thread
    cdef readonly str transport
    cdef bint _fd_open
    cdef uint64_t _final_drops

