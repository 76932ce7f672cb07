"""AstroNet supp. Tab. 4: ViT-B/16 on ImageNet-1k (data/imagenet), 384 px,
plain vs AstroNet (pruned at delta = 1e-3)."""
suite = dict(name='astronet-supp-tab4_in1k', input_size=384, seeds=[0],
             title='AstroNet supp. Tab. 4: ViT on ImageNet-1k')
runs = [
    dict(name='plain_vit', task='cls', method='plain', label='ViT-B/16',
         config='configs/vit/vit-base-p16_64xb64_in1k-384px.py',
         paper=dict(top1=77.9, params_M=86)),
    dict(name='astronet_vit', task='cls', method='astronet', label='ViT-B/16',
         config='configs/astronet/astronet_vit-base-p16_64xb64_in1k-384px.py',
         prune=dict(delta=dict(threshold=1e-3,
                               paper=dict(top1=79.3, params_M=68)))),
]
