"""Configuration defaults for chatapp.

Every key below can be overridden by an environment variable of the same name prefixed with
``CHATAPP_`` (for example ``CHATAPP_DATABASE_URL``); values are parsed as JSON when they look like
JSON (numbers, true/false), else kept as strings. The README lists every variable.
"""

DEFAULTS = {
    # Security
    "SECRET_KEY": None,  # required outside debug/testing; the embedded launcher generates one
    "SESSION_COOKIE_SECURE": None,  # None: Secure unless DEBUG
    # Storage and queues
    "DATABASE_URL": None,  # None: SQLite file instance/chatapp.db
    "DATABASE_POOL_SIZE": 5,  # SQL connections kept per process, and as many more at peaks
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "REDIS_MAX_CONNECTIONS": 200,
    # Language model
    "LLM_PROVIDER": None,  # "openai" or "offline"; None: openai when LLM_BASE_URL is set
    "LLM_BASE_URL": None,  # e.g. http://127.0.0.1:11434/v1 for Ollama
    "LLM_API_KEY": None,
    "LLM_MODEL": "gpt-4o-mini",
    # Several models to choose from, a JSON list (the first is the default), e.g.
    # [{"id": "gpt-4o", "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"},
    #  {"id": "llama3.1", "label": "Llama 3.1 (in-house)", "base_url": "http://ollama:11434/v1"},
    #  {"id": "offline"}]; None: the one model above.
    "LLM_MODELS": None,
    "LLM_MAX_TOKENS": 1024,
    "LLM_CONNECT_TIMEOUT": 10.0,
    "LLM_FIRST_TOKEN_TIMEOUT": 60.0,  # seconds from the request to the reply's first text
    "LLM_IDLE_TIMEOUT": 30.0,  # longest silence once the reply has started
    "LLM_RETRIES": 2,  # further attempts after a retryable failure before any text
    "LLM_RETRY_BASE_DELAY": 0.5,  # seconds, doubled each attempt, with +-30 % jitter
    "LLM_COALESCE_MS": 15,  # tokens arriving within this window go out as one event
    "OFFLINE_MAX_TOKENS": 256,
    "HISTORY_TOKEN_BUDGET": 3000,
    "PROMPT_FILES_TOKEN_BUDGET": 6000,  # the chat's files' text (and images) in each prompt
    "LLM_VISION": False,  # the single CHATAPP_LLM_MODEL reads images (CHATAPP_LLM_MODELS: "vision")
    "REPLY_SAVE_INTERVAL": 3.0,
    "REPLY_JOB_TIMEOUT": 600,
    "LLM_CONCURRENCY": 50,  # replies written at once by one llm worker process
    "REPLY_HEARTBEAT_TTL": 10.0,  # a reply whose job stops beating this long is an orphan
    "REAPER_INTERVAL": 10.0,  # seconds between orphan-reply checks
    # Chat
    "MAX_MESSAGE_CHARS": 8000,
    "SESSIONS_PER_PAGE": 50,
    "AUTO_TITLES": True,  # the model names new chats from their first message
    "SESSION_IDLE_MINUTES": 15,  # an active session goes idle after this long without activity
    "SESSION_END_HOURS": 12,  # ... and ends (can be reopened) after this long
    "SESSION_RETENTION_DAYS": 0,  # ended sessions are deleted this long after ending; 0: kept
    "DELETE_UNDO_SECONDS": 10,  # a deleted session can be restored this long, then is purged
    "UNSENT_UPLOAD_HOURS": 24,  # files attached but never sent are deleted after this long
    "UPKEEP_INTERVAL": 60.0,  # seconds between passes of the sessions' upkeep job
    "HISTORY_PAGE_SIZE": 50,  # messages a chat opens with; older ones load as the reader scrolls up
    # Live events
    "STREAM_MAXLEN": 10000,
    "STREAM_TTL_SECONDS": 86400,
    "SSE_KEEPALIVE_SECONDS": 15,
    "SSE_RECYCLE_SECONDS": 300,
    # An admin's takeover lock lasts this long unless their open live connection renews it
    # (every 15 s): keep it well above 15.
    "TAKEOVER_LOCK_TTL": 45,
    # How pages get live updates: "auto" (SSE, stepping down to WebSocket, then long-poll, when a
    # network blocks them), or one of "sse", "websocket", "poll" for a network that needs it.
    "LIVE_TRANSPORT": "auto",
    # Rate limits (requests per minute; over them: 429 with Retry-After)
    "RATE_LIMIT_SIGN_IN": 10,  # sign-in attempts per address and email (pages and API)
    "RATE_LIMIT_API": 600,  # API calls per user
    "RATE_LIMIT_SHARED_LINKS": 60,  # shared pages opened per address (token guessing)
    # Admin console
    "CONSOLE_POLL_SECONDS": 5,  # how often an open console refreshes its list (while shown)
    # Alerts to admins (services/alerts.py; docs/admin-guide.md)
    "PUBLIC_URL": "http://127.0.0.1:8000",  # how admins reach chatapp: links in alerts
    "ALERT_EMAIL_TRANSPORT": "file",  # "file" (instance/outbox/, read at /admin/outbox), "smtp", "ses"
    "ALERT_SMS_TRANSPORT": "none",  # "none" or "sns"
    "ALERT_OUTBOX_DIR": None,  # None: instance/outbox
    "ALERT_MERGE_MINUTES": 10,  # an identical alert raised within this window is counted, not sent
    "ALERT_RATE_LIMIT_PER_HOUR": 10,  # messages per admin, kind and channel; more are suppressed
    "ALERT_RETRY_DELAYS": [10, 60, 300],  # seconds before each retry of a transient failure
    "ALERT_CHECK_INTERVAL": 60.0,  # seconds between checks for critical errors
    "ALERT_PROVIDER_DOWN_MINUTES": 5,  # replies failing, none succeeding, this long: provider_down
    "ALERT_QUEUE_BACKLOG": 100,  # jobs waiting in one queue beyond this: queue_backlog
    "ALERT_JOB_FAILURES": 10,  # failed jobs more than this within ALERT_JOB_FAILURES_MINUTES
    "ALERT_JOB_FAILURES_MINUTES": 10,
    "SMTP_HOST": "localhost",
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,  # from the environment only (CHATAPP_SMTP_PASSWORD)
    "SMTP_STARTTLS": False,
    "SMTP_TIMEOUT": 10.0,
    "SMTP_FROM": "chatapp <alerts@localhost>",  # the sender of alert email (SMTP and SES)
    "AWS_REGION": "us-east-1",  # SES, SNS and S3; credentials: boto3's usual AWS_* variables or role
    "AWS_ENDPOINT_URL": None,  # another SES/SNS/S3 endpoint (a local test server)
    # Uploads (services/storage.py, services/uploads.py, worker/media.py; docs/admin-guide.md)
    "STORAGE_BACKEND": "local",  # "local" (UPLOAD_DIR) or "s3" (S3_BUCKET; AWS_REGION and
    # AWS_ENDPOINT_URL above, credentials as for SES)
    "UPLOAD_DIR": None,  # None: instance/uploads
    "S3_BUCKET": None,
    "S3_PREFIX": "uploads/",  # key prefix of chatapp's objects in the bucket
    "UPLOAD_MAX_BYTES": 20 * 1024 * 1024,  # per file
    "UPLOAD_MAX_FILES": 10,  # per request (the files of one message)
    "SIGNED_URL_SECONDS": 300,  # how long a download link works
    "CLAMD_URL": None,  # ClamAV's clamd: "tcp://host:3310" or "unix:///run/clamav/clamd.ctl"
    # Voice (services/transcription.py, services/speech.py): offline unless a URL is set
    "TRANSCRIBE_URL": None,  # OpenAI-compatible server: POST <it>/v1/audio/transcriptions
    "TRANSCRIBE_API_KEY": None,
    "TRANSCRIBE_MODEL": "whisper-1",
    "TTS_URL": None,  # OpenAI-compatible server: POST <it>/v1/audio/speech
    "TTS_API_KEY": None,
    "TTS_MODEL": "tts-1",
    "TTS_VOICE": "alloy",  # the endpoint's voice
    "TTS_ENGINE": "piper",  # offline: "piper" (natural US English voice) or "espeak" (robotic)
    "ESPEAK_VOICE": "en",  # espeak's voice (espeak-ng -v: en, en-us, de, ...)
    "TTS_MAX_CHARS": 2000,  # longest text read aloud (cut at a sentence's end)
    "VOICE_TIMEOUT": 120.0,  # seconds to wait on a transcription or speech endpoint
    # Front end
    "HTMX_SOURCE": "cdn",  # "cdn" or "vendored"
    "LOG_LEVEL": "INFO",
}
