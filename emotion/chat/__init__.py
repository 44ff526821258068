"""Chat replays of a VOD: ``formats`` reads any downloader's file as a stream of messages,
``reactions`` turns them into figures per analysis window, a timeline series, spikes, and
the lag between a moment and chat's answer to it."""
