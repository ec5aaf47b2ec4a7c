"""Neural recommenders (TensorFlow/Keras) behind the shared :class:`~recommender.base.Recommender`.

Models (registry names): ``nncf`` (reference A: embeddings + genres + averages, dense tower),
its ablations ``nncf-genres`` and ``nncf-plain``, ``neumf`` (reference B, GMF + MLP),
``embed`` (reference C, dot product + biases, sigmoid to 0.5–5) and ``embed-implicit`` (ours:
``embed`` plus SVD++-style implicit factors); ``autorec`` (reference E: item-based AutoRec,
:mod:`~recommender.neural.autorec`, its own fit and a ridge fold-in rather than this adapter).
Modules:

- :mod:`~recommender.neural.data` — id maps, genre multi-hot, averages, the tf.data pipeline;
- :mod:`~recommender.neural.base` — the one adapter (fit, early stopping, scoring, match);
- :mod:`~recommender.neural.foldin` — new users: user vector fitted with the movie side frozen;
- :mod:`~recommender.neural.artifacts` — versioned save/load, ``latest`` pointer;
- :mod:`~recommender.neural.nncf`, :mod:`~.neumf`, :mod:`~.embed` — each builds only its head.

For the worker::

    from recommender.neural.artifacts import latest_version, load_latest
    from recommender.similar import MovieVectors, similar_movies

    model = load_latest("embed-implicit")            # ARTIFACTS_DIR/models/embed-implicit/latest
    version = latest_version("embed-implicit")        # poll; reload when it changes
    model.recommend(profile, k=24, user=app_user_key) # app users are folded in (a few ms)
    vectors = MovieVectors.from_model(model, min_ratings=5)   # once per loaded model
    ids, cosine = similar_movies(vectors, [movie_id], k=12)

Importing this package does not import TensorFlow; the model modules do.
"""
