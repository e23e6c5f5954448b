import NIOCore

/// Runs a task's jobs on one NIO event loop (a task executor preference).
///
/// The writer's connection completes its statements on this loop, so the writer resumes on the
/// spot instead of queueing behind request handlers in the cooperative pool, where under load a
/// continuation waits about a millisecond — per statement, for every write in the process.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
