"""The skin checker. One photo goes one way: page → view → service → task → job → inference →
row → page; a layer imports only the layers after it (``pyproject.toml``'s import contracts):

1. page: ``diagnosis/upload.html`` or ``camera.html`` posts the photo with a one-time token.
2. view: ``views.upload`` / ``views.camera`` → ``views._submission_page`` (``UploadForm``).
3. service: ``services.submit_diagnosis`` stores the photo, saves the row QUEUED, on commit →
4. task: ``tasks.enqueue_diagnosis`` publishes ``tasks.classify_diagnosis`` (``inference`` queue).
5. job: ``jobs.process_diagnosis`` claims the row (``jobs.claim_diagnosis``) and opens the photo.
6. inference: ``inference.classify_image`` judges quality, trust, then the top 3.
7. row: ``jobs.complete_diagnosis`` or ``fail_diagnosis``, then ``push.publish_finished``.
8. page: ``views.detail``; ``push_views.wait`` (long poll) or ``views.status`` (polling) show it.

Beside it: ``tasks.requeue_stale_diagnoses`` sends what ``jobs.take_stale_diagnoses`` put back
in the queue; ``services.retry_diagnosis`` is the person's "try again". Other apps use only
``diagnosis.services``.
"""
