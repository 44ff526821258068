"""Chat replays of a VOD: ``formats`` reads any downloader's file as a stream of messages
(``stream`` the shared bytes, ``readers`` each format), ``reactions`` turns them into figures
per analysis window and a timeline ``series`` (counted by ``cells``), with spikes and the
``lag`` between a moment and chat's answer to it; ``stored`` keeps them in the library and
``judge`` weighs each highlight by them."""
