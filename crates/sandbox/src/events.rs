//! Output of an interactive job on its way to the client as [`Event`]s,
//! without letting a slow client stall the step's clock.

use tokio::sync::mpsc;

use crate::{Event, Stream};

/// A sink for a step's output that sends each chunk to `events` as an
/// [`Event::Output`]; false (stop the job) once the client is gone.
pub(crate) fn sink(events: mpsc::Sender<Event>) -> impl FnMut(Stream, &[u8]) -> bool + Send {
    move |stream: Stream, data: &[u8]| {
        // Blocking send would stall the clock; a full channel means a slow
        // client, and we wait for it briefly by retrying on the runtime.
        match events.try_send(Event::Output {
            stream,
            data: data.to_vec(),
        }) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(e)) => send_blocking_short(&events, e),
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Sends an event when the channel is full, waiting up to a second.
fn send_blocking_short(ev: &mpsc::Sender<Event>, mut e: Event) -> bool {
    for _ in 0..100 {
        match ev.try_send(e) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Full(back)) => e = back,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // A client that reads nothing for a second loses this chunk, not the job.
    true
}
